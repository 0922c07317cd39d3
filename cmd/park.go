package cmd

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// resumeCommand is the command line that continues the run c describes:
// the flags given, less those that start over or send nothing, plus
// --resume, quoted for a POSIX shell. It is what a parked run prints for
// the user to run (or to put in cron) once resume_after has passed.
func resumeCommand(c *cobra.Command, input string) string {
	args := []string{"bulksend", "send", shellQuote(input)}
	c.Flags().Visit(func(f *pflag.Flag) {
		switch f.Name {
		case "resume", "force", "dry-run":
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				args = append(args, "--"+f.Name, shellQuote(v))
			}
			return
		}
		if f.Value.Type() == "bool" {
			if f.Value.String() == "true" {
				args = append(args, "--"+f.Name)
			} else {
				args = append(args, "--"+f.Name+"=false")
			}
			return
		}
		args = append(args, "--"+f.Name, shellQuote(f.Value.String()))
	})
	return strings.Join(append(args, "--resume"), " ")
}

// shellQuote quotes s for a POSIX shell unless it needs no quoting.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=+,@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
