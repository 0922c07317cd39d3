package main

import (
	"os"

	"github.com/bulksend/bulksend/cmd"
)

func main() { os.Exit(cmd.Main()) }
