package preset

import (
	"maps"
	"slices"
)

// GenesysMessengerTypes lists the --messenger-type values the Genesys
// preset accepts, for shell completion and help.
func GenesysMessengerTypes() []string { return slices.Clone(genesysMessengerTypes) }

// GenesysRegions lists the Genesys Cloud region domains the preset knows
// (mypurecloud.com, usw2.pure.cloud, ...), sorted, for shell completion;
// --region takes the AWS region names too.
func GenesysRegions() []string { return slices.Sorted(maps.Values(genesysRegions)) }
