// Package docs carries the documentation files that programs serve: the
// OpenAPI document of the HTTP API, which httpapi serves at /openapi.yaml.
package docs

import _ "embed"

//go:embed openapi.yaml
var openAPI string

// OpenAPI returns docs/openapi.yaml, the OpenAPI 3.1 document of the
// /api/v1 and /api/v2 HTTP API and the operational endpoints, in YAML.
func OpenAPI() string { return openAPI }
