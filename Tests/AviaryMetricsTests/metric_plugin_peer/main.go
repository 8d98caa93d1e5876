// A metric plugin for Argo Rollouts built the way Argo's are (hashicorp/go-plugin, net/rpc,
// handshake ARGO_ROLLOUTS_RPC_PLUGIN=metricprovider, implementation RpcMetricProviderPlugin),
// against which Aviary's plugin host is tested. Argo's module cannot be built offline here, so
// the types that cross the wire are declared below with Argo's names and field types; gob
// matches them by name, as it does against Argo's own v1alpha1 types.
//
// Its behaviour comes from its configuration under provider.plugin["aviary-test/peer"]:
//
//	{"phase": "Successful", "value": "0.97"}          the measurement
//	{"phase": "Running", "resumeAfterMillis": 300,    Running, then finalPhase once Resume is
//	 "finalPhase": "Failed", "value": "3"}             called after resumeAt
//	{"phase": "Error", "message": "no data"}           an Error measurement
//	{"exit": 3}                                         the process exits in Run
//
// Arguments (the ConfigMap's args): --init-error=TEXT makes InitPlugin fail with TEXT;
// --terminated-file=PATH writes the metric's name to PATH when Terminate is called.
//
// Every measurement's metadata echoes what arrived: the run's name, namespace and uid, the
// metric's name, successCondition, count and interval, and the process id.
package main

import (
	"encoding/gob"
	"encoding/json"
	"fmt"
	"net/rpc"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-plugin"
)

type Time struct{ time.Time }

type IntOrString struct {
	Type   int64
	IntVal int32
	StrVal string
}

type MetricProvider struct {
	Plugin map[string]json.RawMessage
}

type Metric struct {
	Name                  string
	Interval              string
	InitialDelay          string
	Count                 *IntOrString
	SuccessCondition      string
	FailureCondition      string
	FailureLimit          *IntOrString
	InconclusiveLimit     *IntOrString
	ConsecutiveErrorLimit *IntOrString
	Provider              MetricProvider
}

type ObjectMeta struct {
	Name      string
	Namespace string
	UID       string
	Labels    map[string]string
}

type AnalysisRunSpec struct{ Metrics []Metric }

type AnalysisRun struct {
	ObjectMeta
	Spec AnalysisRunSpec
}

type Measurement struct {
	Phase      string
	Message    string
	StartedAt  *Time
	FinishedAt *Time
	Value      string
	Metadata   map[string]string
	ResumeAt   *Time
}

type RpcError struct{ ErrorString string }

type RunArgs struct {
	AnalysisRun *AnalysisRun
	Metric      Metric
}

type TerminateAndResumeArgs struct {
	AnalysisRun *AnalysisRun
	Metric      Metric
	Measurement Measurement
}

type GarbageCollectArgs struct {
	AnalysisRun *AnalysisRun
	Metric      Metric
	Limit       int
}

type GetMetadataArgs struct{ Metric Metric }

func init() {
	gob.RegisterName("RunArgs", new(RunArgs))
	gob.RegisterName("TerminateAndResumeArgs", new(TerminateAndResumeArgs))
	gob.RegisterName("GarbageCollectArgs", new(GarbageCollectArgs))
	gob.RegisterName("GetMetadataArgs", new(GetMetadataArgs))
	gob.RegisterName("RpcError", new(RpcError))
}

type config struct {
	Phase             string `json:"phase"`
	Value             string `json:"value"`
	Message           string `json:"message"`
	ResumeAfterMillis int    `json:"resumeAfterMillis"`
	FinalPhase        string `json:"finalPhase"`
	Exit              int    `json:"exit"`
}

const pluginName = "aviary-test/peer"

type server struct{}

func readConfig(metric Metric) (config, error) {
	var c config
	err := json.Unmarshal(metric.Provider.Plugin[pluginName], &c)
	return c, err
}

func echo(run *AnalysisRun, metric Metric) map[string]string {
	m := map[string]string{
		"metric":           metric.Name,
		"successCondition": metric.SuccessCondition,
		"interval":         metric.Interval,
		"pid":              strconv.Itoa(os.Getpid()),
	}
	if metric.Count != nil {
		m["count"] = strconv.Itoa(int(metric.Count.IntVal)) + metric.Count.StrVal
	}
	if run != nil {
		m["run"] = run.Name
		m["namespace"] = run.Namespace
		m["uid"] = run.UID
		m["runMetrics"] = strconv.Itoa(len(run.Spec.Metrics))
	}
	return m
}

func (s *server) InitPlugin(args interface{}, resp *RpcError) error {
	for _, arg := range os.Args[1:] {
		if strings.HasPrefix(arg, "--init-error=") {
			*resp = RpcError{ErrorString: strings.TrimPrefix(arg, "--init-error=")}
		}
	}
	return nil
}

func (s *server) Run(args interface{}, resp *Measurement) error {
	a, ok := args.(*RunArgs)
	if !ok {
		return fmt.Errorf("invalid args %v", args)
	}
	now := Time{time.Now()}
	c, err := readConfig(a.Metric)
	if err != nil {
		*resp = Measurement{Phase: "Error", Message: err.Error(), StartedAt: &now}
		return nil
	}
	if c.Exit != 0 {
		os.Exit(c.Exit)
	}
	// After plugin.Serve, go-plugin carries os.Stderr to the host on a stream of its own.
	fmt.Fprintln(os.Stderr, "measuring "+a.Metric.Name)
	m := Measurement{Phase: c.Phase, Value: c.Value, Message: c.Message, StartedAt: &now, Metadata: echo(a.AnalysisRun, a.Metric)}
	if c.Phase == "Running" {
		resume := Time{now.Add(time.Duration(c.ResumeAfterMillis) * time.Millisecond)}
		m.ResumeAt = &resume
	} else {
		m.FinishedAt = &now
	}
	*resp = m
	return nil
}

func (s *server) Resume(args interface{}, resp *Measurement) error {
	a, ok := args.(*TerminateAndResumeArgs)
	if !ok {
		return fmt.Errorf("invalid args %v", args)
	}
	m := a.Measurement
	c, _ := readConfig(a.Metric)
	if m.ResumeAt != nil && time.Now().After(m.ResumeAt.Time) {
		now := Time{time.Now()}
		m.Phase = c.FinalPhase
		m.FinishedAt = &now
		m.ResumeAt = nil
		m.Metadata["resumed"] = "true"
	}
	*resp = m
	return nil
}

func (s *server) Terminate(args interface{}, resp *Measurement) error {
	a, ok := args.(*TerminateAndResumeArgs)
	if !ok {
		return fmt.Errorf("invalid args %v", args)
	}
	m := a.Measurement
	m.Phase = "Successful"
	m.Message = "Metric Terminated"
	*resp = m
	for _, arg := range os.Args[1:] {
		if strings.HasPrefix(arg, "--terminated-file=") {
			os.WriteFile(strings.TrimPrefix(arg, "--terminated-file="), []byte(a.Metric.Name), 0o600)
		}
	}
	return nil
}

func (s *server) GarbageCollect(args interface{}, resp *RpcError) error {
	a, ok := args.(*GarbageCollectArgs)
	if !ok {
		return fmt.Errorf("invalid args %v", args)
	}
	if a.Limit <= 0 {
		*resp = RpcError{ErrorString: "limit must be positive"}
	}
	return nil
}

func (s *server) Type(args interface{}, resp *string) error { *resp = "Plugin"; return nil }

func (s *server) GetMetadata(args interface{}, resp *map[string]string) error {
	a, ok := args.(*GetMetadataArgs)
	if !ok {
		return fmt.Errorf("invalid args %v", args)
	}
	c, _ := readConfig(a.Metric)
	*resp = map[string]string{"ResolvedPeerPhase": c.Phase, "metric": "overridden by the measurement's"}
	return nil
}

type metricPlugin struct{}

func (metricPlugin) Server(*plugin.MuxBroker) (interface{}, error) { return &server{}, nil }
func (metricPlugin) Client(*plugin.MuxBroker, *rpc.Client) (interface{}, error) {
	return nil, fmt.Errorf("the host side is Aviary's")
}

func main() {
	fmt.Fprintln(os.Stderr, `{"@level":"info","@message":"peer starting","args":"`+fmt.Sprint(os.Args[1:])+`"}`)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion: 1, MagicCookieKey: "ARGO_ROLLOUTS_RPC_PLUGIN", MagicCookieValue: "metricprovider",
		},
		Plugins: map[string]plugin.Plugin{"RpcMetricProviderPlugin": metricPlugin{}},
	})
}
