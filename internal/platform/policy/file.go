package policy

import (
	"bytes"
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"
)

// parseOverrides reads a policy file: a YAML (or JSON) mapping of rule
// names to check strings or legacy lists. An empty file has no rules.
func parseOverrides(data []byte) (map[string]any, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, nil
	}
	var raw any
	// JSON is YAML, but YAML refuses the tab indentation JSON files often
	// have; read JSON as JSON first.
	if trimmed[0] == '{' && json.Unmarshal(trimmed, &raw) == nil {
		return toRuleMap(raw)
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	return toRuleMap(raw)
}

func toRuleMap(raw any) (map[string]any, error) {
	switch m := raw.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return m, nil
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[pyStr(k)] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("a policy file holds a mapping of rule names to rules, not %T", raw)
}
