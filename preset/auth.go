package preset

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Auth is what a request to a vendor's API other than a send needs of its
// preset (`bulksend status` asks each message's delivery): the API's base
// URL, the authentication the transport adds, and the secrets to mask.
type Auth struct {
	// APIURL is the API's base URL, without a trailing slash.
	APIURL string
	// Account is Twilio's account SID, which its URLs carry; "" for Genesys.
	Account string
	// Wrap adds the credentials to every request of a transport.
	Wrap func(http.RoundTripper) http.RoundTripper
	// Secrets lists the values to mask in any output.
	Secrets []string
	// Tokens is Genesys's OAuth token source (nil for Twilio), so the
	// caller can mask each token and count them.
	Tokens *TokenSource
}

// TwilioAuth is the Twilio preset's authentication, from the account and
// credential fields of cfg (the message fields are not needed).
func TwilioAuth(cfg TwilioConfig) (*Auth, error) {
	user, secret, err := twilioCredentials(cfg)
	if err != nil {
		return nil, err
	}
	api := cmp.Or(cfg.APIURL, DefaultTwilioAPIURL)
	if err := checkURL(api); err != nil {
		return nil, fmt.Errorf("twilio: %w", err)
	}
	return &Auth{APIURL: strings.TrimRight(api, "/"), Account: cfg.AccountSID,
		Wrap: basicAuth(user, secret), Secrets: basicSecrets(user, secret)}, nil
}

// GenesysAuth is the Genesys preset's authentication: an OAuth client
// credentials token from the login host of cfg's region (or LoginURL),
// for the API host of the same.
func GenesysAuth(cfg GenesysConfig) (*Auth, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("genesys: set GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET")
	}
	api, login, err := genesysHosts(cfg)
	if err != nil {
		return nil, err
	}
	ts := newGenesysTokens(cfg, login)
	return &Auth{APIURL: api, Wrap: ts.wrap, Secrets: basicSecrets(cfg.ClientID, cfg.ClientSecret), Tokens: ts}, nil
}
