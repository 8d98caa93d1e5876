// A step plugin for Argo Rollouts built the way Argo's are (hashicorp/go-plugin, net/rpc,
// handshake ARGO_ROLLOUTS_RPC_PLUGIN=step, implementation RpcStepPlugin), against which Aviary's
// step plugin calls are tested. As in the other peers beside it, Argo's types are declared below
// with Argo's names and field types, which is what gob matches.
//
// Its behaviour comes from the step's config:
//
//	{"record": PATH}            each call appends a JSON line to PATH: the operation, the
//	                            context (plugin name, config, status) and the Rollout's name,
//	                            uid and current step
//	{"phase": "Successful"}     Run answers this phase ("Running", "Successful", "Failed", or
//	                            another word, which Aviary must refuse), with "message"
//	{"phase": "Running",        Run answers Running (asking to be called again after
//	 "requeueAfterSeconds": 60,  requeueAfterSeconds) with the status {"count": N}, until
//	 "runs": 2,                  the Nth call, which answers finalPhase
//	 "finalPhase": "Successful"}
//	{"error": "TEXT"}           Run answers an RpcError
//	{"sleepSeconds": N}         Run answers only after N seconds (a plugin that hangs)
package main

import (
	"encoding/gob"
	"encoding/json"
	"fmt"
	"net/rpc"
	"os"
	"time"

	"github.com/hashicorp/go-plugin"
)

type TypeMeta struct {
	Kind       string
	APIVersion string
}

type ObjectMeta struct {
	Name      string
	Namespace string
	UID       string
}

type RolloutStatus struct {
	CurrentStepIndex *int32
	Abort            bool
	Phase            string
}

type Rollout struct {
	TypeMeta
	ObjectMeta
	Status RolloutStatus
}

type RpcError struct{ ErrorString string }

type RpcStepContext struct {
	PluginName string
	Config     json.RawMessage
	Status     json.RawMessage
}

type RpcStepResult struct {
	Phase        string
	Message      string
	RequeueAfter time.Duration
	Status       json.RawMessage
}

type RunArgs struct {
	Rollout *Rollout
	Context *RpcStepContext
}

type TerminateArgs struct {
	Rollout *Rollout
	Context *RpcStepContext
}

type AbortArgs struct {
	Rollout *Rollout
	Context *RpcStepContext
}

type Response struct {
	Result RpcStepResult
	Error  RpcError
}

func init() {
	gob.RegisterName("step.RunArgs", new(RunArgs))
	gob.RegisterName("step.TerminateArgs", new(TerminateArgs))
	gob.RegisterName("step.AbortArgs", new(AbortArgs))
	gob.RegisterName("RpcError", new(RpcError))
}

type config struct {
	Record              string `json:"record"`
	Phase               string `json:"phase"`
	Message             string `json:"message"`
	RequeueAfterSeconds int    `json:"requeueAfterSeconds"`
	Runs                int    `json:"runs"`
	FinalPhase          string `json:"finalPhase"`
	Error               string `json:"error"`
	SleepSeconds        int    `json:"sleepSeconds"`
}

type progress struct {
	Count int `json:"count"`
}

func record(op string, r *Rollout, ctx *RpcStepContext) config {
	var c config
	json.Unmarshal(ctx.Config, &c)
	if c.Record == "" {
		return c
	}
	line := map[string]interface{}{
		"op": op, "pluginName": ctx.PluginName, "config": ctx.Config, "status": ctx.Status, "pid": os.Getpid(),
	}
	if len(ctx.Status) == 0 {
		line["status"] = nil
	}
	if r != nil {
		line["rollout"] = r.Name
		line["namespace"] = r.Namespace
		line["uid"] = r.UID
		line["kind"] = r.Kind
		line["phase"] = r.Status.Phase
		if r.Status.CurrentStepIndex != nil {
			line["currentStepIndex"] = *r.Status.CurrentStepIndex
		}
	}
	data, _ := json.Marshal(line)
	f, err := os.OpenFile(c.Record, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err == nil {
		f.Write(append(data, '\n'))
		f.Close()
	}
	return c
}

type server struct{}

func (s *server) InitPlugin(args interface{}, resp *RpcError) error { return nil }

func (s *server) Run(args interface{}, resp *Response) error {
	a, ok := args.(*RunArgs)
	if !ok {
		return fmt.Errorf("invalid args %v", args)
	}
	c := record("Run", a.Rollout, a.Context)
	time.Sleep(time.Duration(c.SleepSeconds) * time.Second)
	if c.Error != "" {
		resp.Error = RpcError{ErrorString: c.Error}
		return nil
	}
	var p progress
	json.Unmarshal(a.Context.Status, &p)
	p.Count++
	status, _ := json.Marshal(p)
	phase := c.Phase
	if phase == "Running" && c.Runs > 0 && p.Count >= c.Runs {
		phase = c.FinalPhase
	}
	resp.Result = RpcStepResult{Phase: phase, Message: c.Message, Status: status}
	if phase == "Running" {
		resp.Result.RequeueAfter = time.Duration(c.RequeueAfterSeconds) * time.Second
	}
	return nil
}

func (s *server) Terminate(args interface{}, resp *Response) error {
	a, ok := args.(*TerminateArgs)
	if !ok {
		return fmt.Errorf("invalid args %v", args)
	}
	record("Terminate", a.Rollout, a.Context)
	resp.Result = RpcStepResult{Phase: "Successful", Message: "stopped"}
	return nil
}

func (s *server) Abort(args interface{}, resp *Response) error {
	a, ok := args.(*AbortArgs)
	if !ok {
		return fmt.Errorf("invalid args %v", args)
	}
	record("Abort", a.Rollout, a.Context)
	resp.Result = RpcStepResult{Phase: "Successful", Message: "reverted"}
	return nil
}

func (s *server) Type(args interface{}, resp *string) error { *resp = "AviaryTestStep"; return nil }

type stepPlugin struct{}

func (stepPlugin) Server(*plugin.MuxBroker) (interface{}, error) { return &server{}, nil }
func (stepPlugin) Client(*plugin.MuxBroker, *rpc.Client) (interface{}, error) {
	return nil, fmt.Errorf("the host side is Aviary's")
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion: 1, MagicCookieKey: "ARGO_ROLLOUTS_RPC_PLUGIN", MagicCookieValue: "step",
		},
		Plugins: map[string]plugin.Plugin{"RpcStepPlugin": stepPlugin{}},
	})
}
