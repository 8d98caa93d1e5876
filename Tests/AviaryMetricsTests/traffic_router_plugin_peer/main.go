// A traffic router plugin for Argo Rollouts built the way Argo's are (hashicorp/go-plugin,
// net/rpc, handshake ARGO_ROLLOUTS_RPC_PLUGIN=trafficrouter, implementation
// RpcTrafficRouterPlugin), against which Aviary's plugin host is tested. As in the metric plugin
// peer beside it, Argo's types are declared below with Argo's names and field types, which is
// what gob matches.
//
// It routes nothing: the "router" is a JSON file, named by its configuration under
// trafficRouting.plugins["aviary-test/router"]:
//
//	{"stateFile": PATH}     the router's state after each call: weight, hashes, header and
//	                        mirror routes, the calls made, and the Rollout as it arrived
//	{"verifyFile": PATH}    VerifyWeight answers the file's text (Verified, NotVerified);
//	                        NotImplemented when there is no such file
//	{"failFile": PATH}      while the file exists, SetWeight answers its text as an RpcError
package main

import (
	"encoding/gob"
	"encoding/json"
	"fmt"
	"net/rpc"
	"os"
	"strings"

	"github.com/hashicorp/go-plugin"
)

type TypeMeta struct {
	Kind       string
	APIVersion string
}

type ObjectMeta struct {
	Name            string
	Namespace       string
	UID             string
	ResourceVersion string
	Generation      int64
	Labels          map[string]string
	Annotations     map[string]string
}

type MangedRoutes struct{ Name string }

type RolloutTrafficRouting struct {
	ManagedRoutes    []MangedRoutes
	Plugins          map[string]json.RawMessage
	MaxTrafficWeight *int32
}

type CanaryStrategy struct {
	CanaryService  string
	StableService  string
	TrafficRouting *RolloutTrafficRouting
}

type RolloutStrategy struct{ Canary *CanaryStrategy }

type RolloutSpec struct {
	Replicas *int32
	Strategy RolloutStrategy
}

type WeightDestination struct {
	Weight          int32  `json:"weight"`
	ServiceName     string `json:"serviceName,omitempty"`
	PodTemplateHash string `json:"podTemplateHash,omitempty"`
}

type TrafficWeights struct {
	Canary     WeightDestination
	Stable     WeightDestination
	Additional []WeightDestination
	Verified   *bool
}

type CanaryStatus struct{ Weights *TrafficWeights }

type RolloutStatus struct {
	Abort            bool
	CurrentPodHash   string
	CurrentStepIndex *int32
	StableRS         string
	Canary           CanaryStatus
	Phase            string
	Message          string
}

type Rollout struct {
	TypeMeta
	ObjectMeta
	Spec   RolloutSpec
	Status RolloutStatus
}

type StringMatch struct {
	Exact  string `json:"exact,omitempty"`
	Prefix string `json:"prefix,omitempty"`
	Regex  string `json:"regex,omitempty"`
}

type HeaderRoutingMatch struct {
	HeaderName  string       `json:"headerName"`
	HeaderValue *StringMatch `json:"headerValue"`
}

type SetHeaderRoute struct {
	Name  string
	Match []HeaderRoutingMatch
}

type RouteMatch struct {
	Method  *StringMatch           `json:"method,omitempty"`
	Path    *StringMatch           `json:"path,omitempty"`
	Headers map[string]StringMatch `json:"headers,omitempty"`
}

type SetMirrorRoute struct {
	Name       string
	Match      []RouteMatch
	Percentage *int32
}

type RpcError struct{ ErrorString string }

type UpdateHashArgs struct {
	Rollout                Rollout
	CanaryHash             string
	StableHash             string
	AdditionalDestinations []WeightDestination
}

type SetWeightAndVerifyWeightArgs struct {
	Rollout                Rollout
	DesiredWeight          int32
	AdditionalDestinations []WeightDestination
}

type SetHeaderArgs struct {
	Rollout        Rollout
	SetHeaderRoute SetHeaderRoute
}

type SetMirrorArgs struct {
	Rollout        Rollout
	SetMirrorRoute SetMirrorRoute
}

type RemoveManagedRoutesArgs struct{ Rollout Rollout }

type VerifyWeightResponse struct {
	Verified int32
	Err      RpcError
}

func init() {
	gob.RegisterName("UpdateHashArgs", new(UpdateHashArgs))
	gob.RegisterName("SetWeightAndVerifyWeightArgs", new(SetWeightAndVerifyWeightArgs))
	gob.RegisterName("SetHeaderArgs", new(SetHeaderArgs))
	gob.RegisterName("SetMirrorArgs", new(SetMirrorArgs))
	gob.RegisterName("RemoveManagedRoutesArgs", new(RemoveManagedRoutesArgs))
	gob.RegisterName("RpcError", new(RpcError))
}

const pluginName = "aviary-test/router"

type config struct {
	StateFile  string `json:"stateFile"`
	VerifyFile string `json:"verifyFile"`
	FailFile   string `json:"failFile"`
}

type mirror struct {
	Match      []RouteMatch `json:"match"`
	Percentage *int32       `json:"percentage,omitempty"`
}

// The router's state, as the state file holds it.
type state struct {
	Weight       int32                           `json:"weight"`
	Additional   []WeightDestination             `json:"additional,omitempty"`
	CanaryHash   string                          `json:"canaryHash"`
	StableHash   string                          `json:"stableHash"`
	HeaderRoutes map[string][]HeaderRoutingMatch `json:"headerRoutes"`
	MirrorRoutes map[string]mirror               `json:"mirrorRoutes"`
	Calls        []string                        `json:"calls"`
	Rollout      map[string]interface{}          `json:"rollout"`
	Pid          int                             `json:"pid"`
}

func configOf(r *Rollout) config {
	var c config
	if routing := r.Spec.Strategy.Canary; routing != nil && routing.TrafficRouting != nil {
		json.Unmarshal(routing.TrafficRouting.Plugins[pluginName], &c)
	}
	return c
}

// change loads the state, applies f, records the call and what arrived, and saves it.
func change(r *Rollout, call string, f func(*state)) RpcError {
	c := configOf(r)
	if c.StateFile == "" {
		return RpcError{ErrorString: "no stateFile in the plugin's configuration"}
	}
	s := state{HeaderRoutes: map[string][]HeaderRoutingMatch{}, MirrorRoutes: map[string]mirror{}}
	if data, err := os.ReadFile(c.StateFile); err == nil {
		json.Unmarshal(data, &s)
	}
	f(&s)
	s.Calls = append(s.Calls, call)
	if len(s.Calls) > 200 {
		s.Calls = s.Calls[len(s.Calls)-200:]
	}
	canary := r.Spec.Strategy.Canary
	managed := []string{}
	if canary != nil && canary.TrafficRouting != nil {
		for _, m := range canary.TrafficRouting.ManagedRoutes {
			managed = append(managed, m.Name)
		}
	}
	s.Rollout = map[string]interface{}{
		"kind": r.Kind, "apiVersion": r.APIVersion, "name": r.Name, "namespace": r.Namespace, "uid": r.UID,
		"generation": r.Generation, "labels": r.Labels, "managedRoutes": managed,
		"stableRS": r.Status.StableRS, "currentPodHash": r.Status.CurrentPodHash,
	}
	if canary != nil {
		s.Rollout["canaryService"] = canary.CanaryService
		s.Rollout["stableService"] = canary.StableService
	}
	if r.Spec.Replicas != nil {
		s.Rollout["replicas"] = *r.Spec.Replicas
	}
	s.Pid = os.Getpid()
	data, _ := json.Marshal(s)
	tmp := c.StateFile + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return RpcError{ErrorString: err.Error()}
	}
	if err := os.Rename(tmp, c.StateFile); err != nil {
		return RpcError{ErrorString: err.Error()}
	}
	return RpcError{}
}

type server struct{}

func (s *server) InitPlugin(args interface{}, resp *RpcError) error { return nil }

func (s *server) UpdateHash(args interface{}, resp *RpcError) error {
	a, ok := args.(*UpdateHashArgs)
	if !ok {
		return fmt.Errorf("invalid args %v", args)
	}
	*resp = change(&a.Rollout, "UpdateHash", func(st *state) {
		st.CanaryHash, st.StableHash = a.CanaryHash, a.StableHash
	})
	return nil
}

func (s *server) SetWeight(args interface{}, resp *RpcError) error {
	a, ok := args.(*SetWeightAndVerifyWeightArgs)
	if !ok {
		return fmt.Errorf("invalid args %v", args)
	}
	if f := configOf(&a.Rollout).FailFile; f != "" {
		if text, err := os.ReadFile(f); err == nil {
			*resp = RpcError{ErrorString: strings.TrimSpace(string(text))}
			return nil
		}
	}
	*resp = change(&a.Rollout, fmt.Sprintf("SetWeight %d", a.DesiredWeight), func(st *state) {
		st.Weight, st.Additional = a.DesiredWeight, a.AdditionalDestinations
	})
	return nil
}

func (s *server) SetHeaderRoute(args interface{}, resp *RpcError) error {
	a, ok := args.(*SetHeaderArgs)
	if !ok {
		return fmt.Errorf("invalid args %v", args)
	}
	route := a.SetHeaderRoute
	*resp = change(&a.Rollout, "SetHeaderRoute "+route.Name, func(st *state) {
		if len(route.Match) == 0 {
			delete(st.HeaderRoutes, route.Name)
		} else {
			st.HeaderRoutes[route.Name] = route.Match
		}
	})
	return nil
}

func (s *server) SetMirrorRoute(args interface{}, resp *RpcError) error {
	a, ok := args.(*SetMirrorArgs)
	if !ok {
		return fmt.Errorf("invalid args %v", args)
	}
	route := a.SetMirrorRoute
	*resp = change(&a.Rollout, "SetMirrorRoute "+route.Name, func(st *state) {
		if len(route.Match) == 0 {
			delete(st.MirrorRoutes, route.Name)
		} else {
			st.MirrorRoutes[route.Name] = mirror{Match: route.Match, Percentage: route.Percentage}
		}
	})
	return nil
}

func (s *server) RemoveManagedRoutes(args interface{}, resp *RpcError) error {
	a, ok := args.(*RemoveManagedRoutesArgs)
	if !ok {
		return fmt.Errorf("invalid args %v", args)
	}
	*resp = change(&a.Rollout, "RemoveManagedRoutes", func(st *state) {
		if canary := a.Rollout.Spec.Strategy.Canary; canary != nil && canary.TrafficRouting != nil {
			for _, m := range canary.TrafficRouting.ManagedRoutes {
				delete(st.HeaderRoutes, m.Name)
				delete(st.MirrorRoutes, m.Name)
			}
		}
	})
	return nil
}

func (s *server) VerifyWeight(args interface{}, resp *VerifyWeightResponse) error {
	a, ok := args.(*SetWeightAndVerifyWeightArgs)
	if !ok {
		return fmt.Errorf("invalid args %v", args)
	}
	answer := "NotImplemented"
	if f := configOf(&a.Rollout).VerifyFile; f != "" {
		if text, err := os.ReadFile(f); err == nil {
			answer = strings.TrimSpace(string(text))
		}
	}
	switch answer {
	case "Verified":
		resp.Verified = 1
	case "NotVerified":
		resp.Verified = 0
	default:
		resp.Verified = 2
	}
	return nil
}

func (s *server) Type(args interface{}, resp *string) error { *resp = "AviaryTestRouter"; return nil }

type routerPlugin struct{}

func (routerPlugin) Server(*plugin.MuxBroker) (interface{}, error) { return &server{}, nil }
func (routerPlugin) Client(*plugin.MuxBroker, *rpc.Client) (interface{}, error) {
	return nil, fmt.Errorf("the host side is Aviary's")
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion: 1, MagicCookieKey: "ARGO_ROLLOUTS_RPC_PLUGIN", MagicCookieValue: "trafficrouter",
		},
		Plugins: map[string]plugin.Plugin{"RpcTrafficRouterPlugin": routerPlugin{}},
	})
}
