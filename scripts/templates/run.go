package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// graphTimeout bounds one Graph call: someone is waiting at a terminal and
// Ctrl-C cancels the run, so this is more generous than the client's default,
// which is sized for a sender's Lambda budget.
const graphTimeout = 30 * time.Second

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("templates", flag.ContinueOnError)
	fs.SetOutput(out)
	waba := fs.String("waba", "", "WhatsApp Business Account id")
	submitFlag := fs.Bool("submit", false, "create the templates (default: dry run)")
	status := fs.Bool("status", false, "list the templates' review status")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *waba == "" {
		return errors.New("-waba is required")
	}
	// Resolved here rather than left to whatsapp.Client: Frontdesk's convention is
	// that an unset base URL means the local stand-in (the client's default is Meta),
	// and the dry run prints the URL it would use.
	baseURL, version := getenv(platform.EnvWhatsAppAPIBaseURL), getenv(platform.EnvWhatsAppAPIVersion)
	if baseURL == "" {
		baseURL = platform.DefaultWhatsAppAPIBaseURL
	}
	if version == "" {
		version = whatsapp.DefaultVersion
	}
	ours := reminder.Templates()

	if !*submitFlag && !*status {
		fmt.Fprintf(out, "# dry run: POST %s/%s/%s/message_templates (add -submit to send)\n",
			strings.TrimRight(baseURL, "/"), url.PathEscape(version), url.PathEscape(*waba))
		defs := make([]whatsapp.TemplateDefinition, len(ours))
		for i, t := range ours {
			defs[i] = BuildDefinition(t)
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(defs)
	}
	token := getenv(platform.EnvWhatsAppAccessToken)
	if token == "" {
		return fmt.Errorf("%s is required for -submit and -status", platform.EnvWhatsAppAccessToken)
	}
	client := &whatsapp.Client{BaseURL: baseURL, Version: version, Timeout: graphTimeout,
		Token: func(context.Context) (string, error) { return token, nil }}
	var errs []error
	if *submitFlag {
		for _, t := range ours {
			res, err := submit(ctx, client, *waba, t)
			if err != nil {
				errs = append(errs, err)
				fmt.Fprintf(out, "%-28s %-6s ERROR %v\n", t.Name, t.Language, err)
				continue
			}
			fmt.Fprintf(out, "%-28s %-6s %s %s\n", res.Name, res.Language, res.Status, res.ID)
		}
	}
	if *status {
		registered, err := client.ListTemplates(ctx, *waba, "")
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		lines, problems := Report(ours, registered)
		fmt.Fprintln(out, strings.Join(lines, "\n"))
		if len(problems) > 0 {
			errs = append(errs, fmt.Errorf("templates that cannot be sent: %s", strings.Join(problems, ", ")))
		}
	}
	return errors.Join(errs...)
}
