package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/loupehq/loupe/internal/auth"
)

// keysUsage heads `loupe keys -h`.
const keysUsage = `Usage: loupe keys create|list|revoke [flags]

Manage API keys. Each key belongs to one project and has one role:
ingest (send traces only), viewer (read metadata, no payloads),
debugger (read payloads too; audited) or admin (also manage keys).

With --key (an admin key; env LOUPE_KEY) the command calls the server at
--endpoint and works on the key's own project. With --data DIR (env
LOUPE_DATA) and no --key it edits DIR/keys.json directly, whether or not
the server runs (a running server picks the change up within a second).
A project's first admin key can only be made offline:

	loupe keys create --data ./loupe-data --project acme --role admin

	loupe keys create --project P --role R [--name N]   prints the new key, once
	loupe keys list [--project P]                        (offline: every project when empty)
	loupe keys revoke ID
`

// keysConfig holds the flags of `loupe keys`.
type keysConfig struct {
	clientConfig
	Data    string
	Project string
	Role    string
	Name    string
}

// runKeys is `loupe keys`.
func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprint(stderr, keysUsage)
		if len(args) == 0 {
			return &usageError{message: "keys: no subcommand given", hint: "loupe keys create --data ./loupe-data --project default --role admin"}
		}
		return flag.ErrHelp
	}
	sub, args := args[0], args[1:]
	var cfg keysConfig
	fs := newClientFlags("keys "+sub, "loupe keys "+sub+" [flags]", keysUsage, &cfg.clientConfig)
	fs.StringVar(&cfg.Data, "data", "", "data `directory` whose keys.json to edit directly (env LOUPE_DATA)")
	fs.StringVar(&cfg.Project, "project", "", "`project` of the key (create; API: default the admin key's own) or to list")
	fs.StringVar(&cfg.Role, "role", "", "`role` of the new key: ingest, viewer, debugger or admin")
	fs.StringVar(&cfg.Name, "name", "", "free-text `name` of the new key (who or what uses it)")
	pos, err := parseClientFlags(fs, args, getenv, stderr)
	if err != nil {
		return err
	}
	if v := getenv("LOUPE_DATA"); cfg.Data == "" && v != "" {
		cfg.Data = v
	}
	var st keyStore
	switch {
	case cfg.Key != "":
		st = &apiKeys{c: newAPIClient(cfg.clientConfig)}
	case cfg.Data != "":
		k, err := auth.OpenKeys(cfg.Data, nil)
		if err != nil {
			return err
		}
		st = &fileKeys{k: k}
	default:
		return &usageError{message: "keys: give --key (an admin key, to use the server's API) or --data DIR (to edit the key file directly)",
			hint: "loupe keys " + sub + " --data ./loupe-data ..."}
	}

	switch sub {
	case "create":
		if len(pos) > 0 {
			return &usageError{message: fmt.Sprintf("keys create takes no arguments, got %q", pos), hint: "loupe keys create --project P --role R"}
		}
		if cfg.Role == "" {
			return &usageError{message: "keys create: --role is required", hint: "loupe keys create --role viewer"}
		}
		if _, isFile := st.(*fileKeys); isFile && cfg.Project == "" {
			return &usageError{message: "keys create --data: --project is required", hint: "loupe keys create --data DIR --project default --role " + cfg.Role}
		}
		role, err := auth.ParseRole(cfg.Role)
		if err != nil {
			return &usageError{message: "keys create: " + err.Error(), hint: "--role viewer"}
		}
		key, token, err := st.create(ctx, cfg.Project, role, cfg.Name)
		if err != nil {
			return err
		}
		if cfg.JSON {
			return writeJSON(stdout, struct {
				Key   auth.KeyInfo `json:"key"`
				Token string       `json:"token"`
			}{key.Info(), token})
		}
		fmt.Fprintf(stderr, "created key %s (project %s, role %s); it is shown only now, store it safely:\n", key.ID, key.Project, key.Role)
		fmt.Fprintln(stdout, token)
		return nil
	case "list":
		if len(pos) > 0 {
			return &usageError{message: fmt.Sprintf("keys list takes no arguments, got %q", pos), hint: "loupe keys list"}
		}
		keys, err := st.list(ctx, cfg.Project)
		if err != nil {
			return err
		}
		out := make([]auth.KeyInfo, len(keys))
		for i, k := range keys {
			out[i] = k.Info()
		}
		if cfg.JSON {
			return writeJSON(stdout, struct {
				Keys []auth.KeyInfo `json:"keys"`
			}{out})
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPROJECT\tROLE\tNAME\tCREATED\tREVOKED")
		for _, k := range out {
			revoked := "-"
			if k.RevokedAt != nil {
				revoked = k.RevokedAt.Format(time.RFC3339)
			}
			name := k.Name
			if name == "" {
				name = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Project, k.Role, name, k.Created.Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	case "revoke":
		if len(pos) != 1 {
			return &usageError{message: "keys revoke takes one key id", hint: "loupe keys list, then loupe keys revoke ID"}
		}
		key, err := st.revoke(ctx, cfg.Project, pos[0])
		if err != nil {
			return err
		}
		if cfg.JSON {
			return writeJSON(stdout, struct {
				Key auth.KeyInfo `json:"key"`
			}{key.Info()})
		}
		fmt.Fprintf(stdout, "revoked key %s (project %s, role %s)\n", key.ID, key.Project, key.Role)
		return nil
	}
	return &usageError{message: fmt.Sprintf("keys: unknown subcommand %q", sub), hint: "loupe keys -h"}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// keyStore is where `loupe keys` acts: the key file or the server's API.
type keyStore interface {
	create(ctx context.Context, project string, role auth.Role, name string) (auth.Key, string, error)
	list(ctx context.Context, project string) ([]auth.Key, error)
	revoke(ctx context.Context, project, id string) (auth.Key, error)
}

// fileKeys edits DIR/keys.json.
type fileKeys struct{ k *auth.Keys }

func (f *fileKeys) create(_ context.Context, project string, role auth.Role, name string) (auth.Key, string, error) {
	return f.k.Create(project, role, name)
}

func (f *fileKeys) list(_ context.Context, project string) ([]auth.Key, error) {
	return f.k.List(project)
}

func (f *fileKeys) revoke(_ context.Context, project, id string) (auth.Key, error) {
	return f.k.Revoke(project, id)
}

// apiKeys calls /api/v1/keys with an admin key.
type apiKeys struct{ c *apiClient }

// apiKey is the API's JSON of a key (auth.KeyInfo, which shares
// auth.Key's JSON names; the hash stays empty).
type apiKey struct {
	Key   auth.Key `json:"key"`
	Token string   `json:"token"`
}

func (a *apiKeys) create(ctx context.Context, project string, role auth.Role, name string) (auth.Key, string, error) {
	body, _ := json.Marshal(map[string]string{"project": project, "role": string(role), "name": name})
	rb, err := a.c.call(ctx, http.MethodPost, "/api/v1/keys", nil, body, http.StatusCreated)
	if err != nil {
		return auth.Key{}, "", err
	}
	var out apiKey
	if err := json.Unmarshal(rb, &out); err != nil {
		return auth.Key{}, "", fmt.Errorf("decode answer: %w", err)
	}
	return out.Key, out.Token, nil
}

func (a *apiKeys) list(ctx context.Context, project string) ([]auth.Key, error) {
	rb, err := a.c.get(ctx, "/api/v1/keys", nil)
	if err != nil {
		return nil, err
	}
	var out struct {
		Keys []auth.Key `json:"keys"`
	}
	if err := json.Unmarshal(rb, &out); err != nil {
		return nil, fmt.Errorf("decode answer: %w", err)
	}
	var keys []auth.Key
	for _, k := range out.Keys {
		if project == "" || k.Project == project {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

func (a *apiKeys) revoke(ctx context.Context, _ string, id string) (auth.Key, error) {
	rb, err := a.c.call(ctx, http.MethodDelete, "/api/v1/keys/"+url.PathEscape(id), nil, nil, http.StatusOK)
	if err != nil {
		return auth.Key{}, err
	}
	var out apiKey
	if err := json.Unmarshal(rb, &out); err != nil {
		return auth.Key{}, fmt.Errorf("decode answer: %w", err)
	}
	return out.Key, nil
}
