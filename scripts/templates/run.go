package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("templates", flag.ContinueOnError)
	fs.SetOutput(out)
	waba := fs.String("waba", "", "WhatsApp Business Account id")
	submit := fs.Bool("submit", false, "create the templates (default: dry run)")
	status := fs.Bool("status", false, "list the templates' review status")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *waba == "" {
		return errors.New("-waba is required")
	}
	g := &Graph{BaseURL: getenv(platform.EnvWhatsAppAPIBaseURL), Version: getenv(platform.EnvWhatsAppAPIVersion),
		Token: getenv(platform.EnvWhatsAppAccessToken)}
	if g.BaseURL == "" {
		g.BaseURL = platform.DefaultWhatsAppAPIBaseURL
	}
	if g.Version == "" {
		g.Version = "v23.0"
	}
	ours := reminder.Templates()

	if !*submit && !*status {
		fmt.Fprintf(out, "# dry run: POST %s (add -submit to send)\n", g.templatesURL(*waba))
		reqs := make([]CreateRequest, len(ours))
		for i, t := range ours {
			reqs[i] = BuildCreateRequest(t)
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(reqs)
	}
	if g.Token == "" {
		return fmt.Errorf("%s is required for -submit and -status", platform.EnvWhatsAppAccessToken)
	}
	var errs []error
	if *submit {
		for _, t := range ours {
			res, err := g.Submit(ctx, *waba, t)
			if err != nil {
				errs = append(errs, err)
				fmt.Fprintf(out, "%-28s %-6s ERROR %v\n", t.Name, t.Language, err)
				continue
			}
			fmt.Fprintf(out, "%-28s %-6s %s %s\n", res.Name, res.Language, res.Status, res.ID)
		}
	}
	if *status {
		registered, err := g.List(ctx, *waba)
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
