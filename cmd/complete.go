package cmd

import (
	"net/http"

	"github.com/spf13/cobra"

	"github.com/bulksend/bulksend/csvinput"
	"github.com/bulksend/bulksend/preset"
	"github.com/bulksend/bulksend/sandbox"
)

// completeValues makes the shell complete each named flag of c with its
// values instead of file names. A flag the command lacks is a programming
// error and panics at start-up, where every test sees it.
func completeValues(c *cobra.Command, values map[string][]string) {
	for name, vs := range values {
		vs := vs
		err := c.RegisterFlagCompletionFunc(name, func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return vs, cobra.ShellCompDirectiveNoFileComp
		})
		if err != nil {
			panic(err)
		}
	}
}

// methods are the HTTP methods offered for --method.
var methods = []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodGet, http.MethodDelete}

// sendCompletions are send's enum flags and their values.
func sendCompletions() map[string][]string {
	return map[string][]string{
		"format":         {string(csvinput.FormatCSV), string(csvinput.FormatJSONL)},
		"input-encoding": {string(csvinput.EncodingUTF8), string(csvinput.EncodingLatin1), string(csvinput.EncodingWindows1252)},
		"preset":         {"generic", "genesys", "twilio"},
		"method":         methods,
		"messenger-type": preset.GenesysMessengerTypes(),
		"region":         preset.GenesysRegions(),
		"window":         {"fixed", "sliding", "none"},
	}
}

// sandboxCompletions are the sandbox's enum flags and their values.
func sandboxCompletions() map[string][]string {
	return map[string][]string{
		"model":   sandbox.Models(),
		"sliding": {sandbox.SlidingLog, sandbox.SlidingCounter, sandbox.SlidingCounterFirst},
		"style":   sandbox.Styles(),
	}
}
