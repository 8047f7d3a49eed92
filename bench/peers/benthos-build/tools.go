//go:build tools

package tools

import _ "github.com/benthosdev/benthos/v4/cmd/benthos"
