# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_chanwatch_global_optspecs
    string join \n config= profile= url= key= cluster= host= ws-port= wss-port= tls no-tls path= origin= ws-header= ca-file= enabled-transports= disabled-transports= activity-timeout= pong-timeout= unavailable-timeout= retry-cap= handshake-timeout= s/subscribe= secret= secret-file= auth-endpoint= auth-transport= auth-param= auth-header= auth-header-file= auth-command= user-id= user-info= encryption-master-key= encryption-master-key-file= auth-timeout= signin user-auth-endpoint= user-auth-transport= user-auth-param= user-auth-header= user-auth-command= user-data= user-auth-header-file= app-id= api-host= api-port= headless fault-proxy print-config log-ring= log-bytes= record= log-file= v/verbose probe= no-probe probe-channel= show-probe occupancy-interval= stats-interval= metrics-listen= webhook-listen= webhook-path= webhook-forward= node= ghost-after= h/help V/version
end

function __fish_chanwatch_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_chanwatch_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_chanwatch_using_subcommand
    set -l cmd (__fish_chanwatch_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c chanwatch -n "__fish_chanwatch_needs_command" -l config -d 'Config file to read instead of the default one (it must exist)' -r -F
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l profile -d 'Profile of the config file to apply: [profiles.NAME] (default: its default_profile)' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l url -d 'Everything at once: pusher://KEY:SECRET@HOST:PORT/apps/ID (pushers:// for TLS); the other flags win over its parts' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l key -d 'The app key (never the secret)' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l cluster -d 'Pusher cluster, e.g. eu or mt1: connects to ws-CLUSTER.pusher.com' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l host -d 'Server host name or address (sockudo, soketi, Reverb, ...), instead of --cluster' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l ws-port -d 'Port for plain ws:// connections [default: 80]' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l wss-port -d 'Port for TLS wss:// connections [default: 443]' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l path -d 'Path prefix before /app/KEY, e.g. /ws behind a proxy' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l origin -d 'The Origin header sent with the WebSocket upgrade, e.g. https://app.example.com, for servers that only accept listed origins' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l ws-header -d 'Extra header for the WebSocket upgrade, \'Name: value\' (repeatable): a reverse proxy\'s credentials, a cookie' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l ca-file -d 'PEM file of CA certificates to trust besides the system\'s and the bundled ones (a private CA), for the WebSocket, the auth endpoint and the HTTP API' -r -F
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l enabled-transports -d 'Transports that may be used (comma list: ws, wss; HTTP fallbacks are reported as unsupported)' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l disabled-transports -d 'Transports that must not be used (comma list); wins over --enabled-transports' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l activity-timeout -d 'Ping after this long without an inbound frame (the server\'s value wins if smaller) [default: 120s]' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l pong-timeout -d 'Reconnect when nothing arrives this long after a ping [default: 30s]' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l unavailable-timeout -d 'Report `unavailable` after trying to connect for this long [default: 10s]' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l retry-cap -d 'The longest wait between connection attempts [default: 15s]' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l handshake-timeout -d 'Give up on an attempt that has not completed the Pusher handshake by then [default: 15s]' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -s s -l subscribe -d 'Subscribe to CHANNEL at start (repeatable; replaces the config file\'s list)' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l secret -d 'App secret: sign subscriptions locally (HMAC-SHA256). Never shown or logged. Prefer PUSHER_APP_SECRET or --secret-file: other users can read a command line' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l secret-file -d 'Read the app secret from this file (one trailing newline is ignored)' -r -F
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l auth-endpoint -d 'Authorization endpoint: POST socket_id and channel_name as a form' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l auth-transport -d 'How to call the auth endpoint: ajax (form POST) or jsonp (GET with a callback) [default: ajax]' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l auth-param -d 'Extra form parameter for the auth endpoint, k=v (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l auth-header -d 'Extra header for the auth endpoint, \'Name: value\' (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l auth-header-file -d 'Headers for the auth endpoint from a file, one \'Name: value\' per line (blank lines and lines starting with # are skipped); --auth-header wins for the same name' -r -F
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l auth-command -d 'Shell command that authorizes: gets {"socket_id","channel_name"} JSON on stdin, prints the auth JSON. Instead of --auth-endpoint' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l user-id -d 'Presence user id when signing locally (a random id when absent)' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l user-info -d 'Presence user_info as a JSON object when signing locally' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l encryption-master-key -d 'The server\'s encryption master key (base64 of 32 bytes), so that local signing also gives encrypted channels their key. Never shown or logged' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l encryption-master-key-file -d 'Read the encryption master key (base64) from this file' -r -F
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l auth-timeout -d 'Give up on an authorization request after this long [default: 10s]' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l user-auth-endpoint -d 'User authentication endpoint: POST socket_id as a form (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l user-auth-transport -d 'How to call the user authentication endpoint: ajax or jsonp [default: ajax]' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l user-auth-param -d 'Extra form parameter for the user authentication endpoint, k=v (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l user-auth-header -d 'Extra header for the user authentication endpoint, \'Name: value\' (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l user-auth-command -d 'Shell command that signs the user in: gets {"socket_id"} JSON on stdin, prints {"auth","user_data"} (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l user-data -d 'The user to sign in as when signing locally with --secret: a JSON object with a string "id" (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l user-auth-header-file -d 'Headers for the user authentication endpoint from a file, one \'Name: value\' per line' -r -F
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l app-id -d 'The app id: with the secret, enables the signed HTTP API (publishing, channel queries)' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l api-host -d 'HTTP API host, when not the WebSocket\'s (default: --host, or api-CLUSTER.pusher.com)' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l api-port -d 'HTTP API port, when not the WebSocket\'s' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l log-ring -d 'How many events the dashboard\'s log keeps [default: 10000]' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l log-bytes -d 'The most memory the dashboard\'s log may use, e.g. 64MiB; the oldest events go first [default: 64MiB]' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l record -d 'Record the session to this file: every record, as headless mode prints it, and the commands issued, after a header line (see `chanwatch replay`)' -r -F
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l log-file -d 'Write logs to this file instead of stderr (logs never go to stdout)' -r -F
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l probe -d 'End-to-end latency probe: publish a small event through the HTTP API every INTERVAL [default: 1s] and time its arrival here (needs the app id and secret; on in the demo)' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l probe-channel -d 'The channel probes go through, subscribed automatically [default: chanwatch-probe]' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l occupancy-interval -d 'Poll the HTTP API for occupied channels and their counts this often [default: 5s; at least 1s]: in the dashboard while its occupancy view is open; headless only when given. With several --node, also how often the nodes\' APIs are compared (always on)' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l stats-interval -d 'Emit a `stats` record this often (headless; off by default; at least 1s)' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l metrics-listen -d 'Serve Prometheus metrics at http://ADDR/metrics (OpenMetrics on request), readiness at /ready (200 while connected); ADDR is IP:PORT, port 0 picks one (said on stderr)' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l webhook-listen -d 'Receive the app\'s webhooks on ADDR:PORT (or :PORT on loopback), check their key and signature with the app secret, and show them beside the socket (the demo starts one on a free loopback port)' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l webhook-path -d 'The path webhooks are posted to [default: /webhooks]' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l webhook-forward -d 'Pass each webhook request on, body and headers unchanged, to this URL (your real backend) and show its answer' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l node -d 'Watch this node of a cluster, NAME=ws://HOST:PORT (repeatable, one connection per node), optionally ,http://HOST:PORT for its own HTTP API if not on the same port. The app (key, secret, auth) is the same on every node' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l ghost-after -d 'A presence member that differs between nodes after it left one, or after its node went, is a ghost once the difference lasts this long [default: 5s]' -r
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l tls -d 'Use TLS (wss://); this is the default'
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l no-tls -d 'Use plain ws:// (falls back to wss:// if the ws transport is disabled)'
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l signin -d 'Sign the user in (pusher:signin) after every connect: with --user-auth-endpoint, --user-auth-command, or locally with --secret and --user-data'
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l headless -d 'No dashboard: one JSON record per line on stdout, JSON commands on stdin'
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l fault-proxy -d 'Put a fault-injection proxy on loopback between chanwatch and the server, so that cut/drop/down/delay faults can be injected (always on in the demo)'
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l print-config -d 'Print the merged configuration (secrets masked) and where it came from, then exit'
complete -c chanwatch -n "__fish_chanwatch_needs_command" -s v -l verbose -d 'More logging: -v info, -vv debug, -vvv trace (RUST_LOG is used when not given)'
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l no-probe -d 'No latency probe, not even in the demo'
complete -c chanwatch -n "__fish_chanwatch_needs_command" -l show-probe -d 'Show probe events in the log and the record stream (hidden by default)'
complete -c chanwatch -n "__fish_chanwatch_needs_command" -s h -l help -d 'Print help'
complete -c chanwatch -n "__fish_chanwatch_needs_command" -s V -l version -d 'Print version'
complete -c chanwatch -n "__fish_chanwatch_needs_command" -f -a "demo" -d 'Start a built-in demo server on loopback with simulated traffic and watch it: no network, no config file, no credentials. Faults can be injected (key x, or the headless `fault` command). With --nodes N, a demo cluster of N nodes'
complete -c chanwatch -n "__fish_chanwatch_needs_command" -f -a "completions" -d 'Print a completion script for SHELL on stdout (see the README for where it goes)'
complete -c chanwatch -n "__fish_chanwatch_needs_command" -f -a "man" -d 'Print the man page (roff) on stdout, e.g. `chanwatch man > chanwatch.1`'
complete -c chanwatch -n "__fish_chanwatch_needs_command" -f -a "config" -d 'The config file: write a commented starter one, or show where it is looked for'
complete -c chanwatch -n "__fish_chanwatch_needs_command" -f -a "replay" -d 'Replay a recording made with --record: the dashboard at the recorded pace, or its records as NDJSON with --headless'
complete -c chanwatch -n "__fish_chanwatch_needs_command" -f -a "check" -d 'One-shot health check for monitors, cron and probes: connect, subscribe, publish probes through the HTTP API and time their delivery; Nagios output and exit codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)'
complete -c chanwatch -n "__fish_chanwatch_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l nodes -d 'Start a demo cluster of N nodes (a, b, c ...) joined as if by a broker, and watch every node at once; cluster faults `kill_node`, `partition` and `keep_member` name a node. 1 to 9 [default: 1, one demo server]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l config -d 'Config file to read instead of the default one (it must exist)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l profile -d 'Profile of the config file to apply: [profiles.NAME] (default: its default_profile)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l url -d 'Everything at once: pusher://KEY:SECRET@HOST:PORT/apps/ID (pushers:// for TLS); the other flags win over its parts' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l key -d 'The app key (never the secret)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l cluster -d 'Pusher cluster, e.g. eu or mt1: connects to ws-CLUSTER.pusher.com' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l host -d 'Server host name or address (sockudo, soketi, Reverb, ...), instead of --cluster' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l ws-port -d 'Port for plain ws:// connections [default: 80]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l wss-port -d 'Port for TLS wss:// connections [default: 443]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l path -d 'Path prefix before /app/KEY, e.g. /ws behind a proxy' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l origin -d 'The Origin header sent with the WebSocket upgrade, e.g. https://app.example.com, for servers that only accept listed origins' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l ws-header -d 'Extra header for the WebSocket upgrade, \'Name: value\' (repeatable): a reverse proxy\'s credentials, a cookie' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l ca-file -d 'PEM file of CA certificates to trust besides the system\'s and the bundled ones (a private CA), for the WebSocket, the auth endpoint and the HTTP API' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l enabled-transports -d 'Transports that may be used (comma list: ws, wss; HTTP fallbacks are reported as unsupported)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l disabled-transports -d 'Transports that must not be used (comma list); wins over --enabled-transports' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l activity-timeout -d 'Ping after this long without an inbound frame (the server\'s value wins if smaller) [default: 120s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l pong-timeout -d 'Reconnect when nothing arrives this long after a ping [default: 30s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l unavailable-timeout -d 'Report `unavailable` after trying to connect for this long [default: 10s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l retry-cap -d 'The longest wait between connection attempts [default: 15s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l handshake-timeout -d 'Give up on an attempt that has not completed the Pusher handshake by then [default: 15s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -s s -l subscribe -d 'Subscribe to CHANNEL at start (repeatable; replaces the config file\'s list)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l secret -d 'App secret: sign subscriptions locally (HMAC-SHA256). Never shown or logged. Prefer PUSHER_APP_SECRET or --secret-file: other users can read a command line' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l secret-file -d 'Read the app secret from this file (one trailing newline is ignored)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l auth-endpoint -d 'Authorization endpoint: POST socket_id and channel_name as a form' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l auth-transport -d 'How to call the auth endpoint: ajax (form POST) or jsonp (GET with a callback) [default: ajax]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l auth-param -d 'Extra form parameter for the auth endpoint, k=v (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l auth-header -d 'Extra header for the auth endpoint, \'Name: value\' (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l auth-header-file -d 'Headers for the auth endpoint from a file, one \'Name: value\' per line (blank lines and lines starting with # are skipped); --auth-header wins for the same name' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l auth-command -d 'Shell command that authorizes: gets {"socket_id","channel_name"} JSON on stdin, prints the auth JSON. Instead of --auth-endpoint' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l user-id -d 'Presence user id when signing locally (a random id when absent)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l user-info -d 'Presence user_info as a JSON object when signing locally' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l encryption-master-key -d 'The server\'s encryption master key (base64 of 32 bytes), so that local signing also gives encrypted channels their key. Never shown or logged' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l encryption-master-key-file -d 'Read the encryption master key (base64) from this file' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l auth-timeout -d 'Give up on an authorization request after this long [default: 10s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l user-auth-endpoint -d 'User authentication endpoint: POST socket_id as a form (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l user-auth-transport -d 'How to call the user authentication endpoint: ajax or jsonp [default: ajax]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l user-auth-param -d 'Extra form parameter for the user authentication endpoint, k=v (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l user-auth-header -d 'Extra header for the user authentication endpoint, \'Name: value\' (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l user-auth-command -d 'Shell command that signs the user in: gets {"socket_id"} JSON on stdin, prints {"auth","user_data"} (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l user-data -d 'The user to sign in as when signing locally with --secret: a JSON object with a string "id" (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l user-auth-header-file -d 'Headers for the user authentication endpoint from a file, one \'Name: value\' per line' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l app-id -d 'The app id: with the secret, enables the signed HTTP API (publishing, channel queries)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l api-host -d 'HTTP API host, when not the WebSocket\'s (default: --host, or api-CLUSTER.pusher.com)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l api-port -d 'HTTP API port, when not the WebSocket\'s' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l log-ring -d 'How many events the dashboard\'s log keeps [default: 10000]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l log-bytes -d 'The most memory the dashboard\'s log may use, e.g. 64MiB; the oldest events go first [default: 64MiB]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l record -d 'Record the session to this file: every record, as headless mode prints it, and the commands issued, after a header line (see `chanwatch replay`)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l log-file -d 'Write logs to this file instead of stderr (logs never go to stdout)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l probe -d 'End-to-end latency probe: publish a small event through the HTTP API every INTERVAL [default: 1s] and time its arrival here (needs the app id and secret; on in the demo)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l probe-channel -d 'The channel probes go through, subscribed automatically [default: chanwatch-probe]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l occupancy-interval -d 'Poll the HTTP API for occupied channels and their counts this often [default: 5s; at least 1s]: in the dashboard while its occupancy view is open; headless only when given. With several --node, also how often the nodes\' APIs are compared (always on)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l stats-interval -d 'Emit a `stats` record this often (headless; off by default; at least 1s)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l metrics-listen -d 'Serve Prometheus metrics at http://ADDR/metrics (OpenMetrics on request), readiness at /ready (200 while connected); ADDR is IP:PORT, port 0 picks one (said on stderr)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l webhook-listen -d 'Receive the app\'s webhooks on ADDR:PORT (or :PORT on loopback), check their key and signature with the app secret, and show them beside the socket (the demo starts one on a free loopback port)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l webhook-path -d 'The path webhooks are posted to [default: /webhooks]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l webhook-forward -d 'Pass each webhook request on, body and headers unchanged, to this URL (your real backend) and show its answer' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l node -d 'Watch this node of a cluster, NAME=ws://HOST:PORT (repeatable, one connection per node), optionally ,http://HOST:PORT for its own HTTP API if not on the same port. The app (key, secret, auth) is the same on every node' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l ghost-after -d 'A presence member that differs between nodes after it left one, or after its node went, is a ghost once the difference lasts this long [default: 5s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l tls -d 'Use TLS (wss://); this is the default'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l no-tls -d 'Use plain ws:// (falls back to wss:// if the ws transport is disabled)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l signin -d 'Sign the user in (pusher:signin) after every connect: with --user-auth-endpoint, --user-auth-command, or locally with --secret and --user-data'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l headless -d 'No dashboard: one JSON record per line on stdout, JSON commands on stdin'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l fault-proxy -d 'Put a fault-injection proxy on loopback between chanwatch and the server, so that cut/drop/down/delay faults can be injected (always on in the demo)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l print-config -d 'Print the merged configuration (secrets masked) and where it came from, then exit'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -s v -l verbose -d 'More logging: -v info, -vv debug, -vvv trace (RUST_LOG is used when not given)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l no-probe -d 'No latency probe, not even in the demo'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -l show-probe -d 'Show probe events in the log and the record stream (hidden by default)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand demo" -s h -l help -d 'Print help'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l config -d 'Config file to read instead of the default one (it must exist)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l profile -d 'Profile of the config file to apply: [profiles.NAME] (default: its default_profile)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l url -d 'Everything at once: pusher://KEY:SECRET@HOST:PORT/apps/ID (pushers:// for TLS); the other flags win over its parts' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l key -d 'The app key (never the secret)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l cluster -d 'Pusher cluster, e.g. eu or mt1: connects to ws-CLUSTER.pusher.com' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l host -d 'Server host name or address (sockudo, soketi, Reverb, ...), instead of --cluster' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l ws-port -d 'Port for plain ws:// connections [default: 80]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l wss-port -d 'Port for TLS wss:// connections [default: 443]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l path -d 'Path prefix before /app/KEY, e.g. /ws behind a proxy' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l origin -d 'The Origin header sent with the WebSocket upgrade, e.g. https://app.example.com, for servers that only accept listed origins' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l ws-header -d 'Extra header for the WebSocket upgrade, \'Name: value\' (repeatable): a reverse proxy\'s credentials, a cookie' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l ca-file -d 'PEM file of CA certificates to trust besides the system\'s and the bundled ones (a private CA), for the WebSocket, the auth endpoint and the HTTP API' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l enabled-transports -d 'Transports that may be used (comma list: ws, wss; HTTP fallbacks are reported as unsupported)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l disabled-transports -d 'Transports that must not be used (comma list); wins over --enabled-transports' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l activity-timeout -d 'Ping after this long without an inbound frame (the server\'s value wins if smaller) [default: 120s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l pong-timeout -d 'Reconnect when nothing arrives this long after a ping [default: 30s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l unavailable-timeout -d 'Report `unavailable` after trying to connect for this long [default: 10s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l retry-cap -d 'The longest wait between connection attempts [default: 15s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l handshake-timeout -d 'Give up on an attempt that has not completed the Pusher handshake by then [default: 15s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -s s -l subscribe -d 'Subscribe to CHANNEL at start (repeatable; replaces the config file\'s list)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l secret -d 'App secret: sign subscriptions locally (HMAC-SHA256). Never shown or logged. Prefer PUSHER_APP_SECRET or --secret-file: other users can read a command line' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l secret-file -d 'Read the app secret from this file (one trailing newline is ignored)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l auth-endpoint -d 'Authorization endpoint: POST socket_id and channel_name as a form' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l auth-transport -d 'How to call the auth endpoint: ajax (form POST) or jsonp (GET with a callback) [default: ajax]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l auth-param -d 'Extra form parameter for the auth endpoint, k=v (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l auth-header -d 'Extra header for the auth endpoint, \'Name: value\' (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l auth-header-file -d 'Headers for the auth endpoint from a file, one \'Name: value\' per line (blank lines and lines starting with # are skipped); --auth-header wins for the same name' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l auth-command -d 'Shell command that authorizes: gets {"socket_id","channel_name"} JSON on stdin, prints the auth JSON. Instead of --auth-endpoint' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l user-id -d 'Presence user id when signing locally (a random id when absent)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l user-info -d 'Presence user_info as a JSON object when signing locally' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l encryption-master-key -d 'The server\'s encryption master key (base64 of 32 bytes), so that local signing also gives encrypted channels their key. Never shown or logged' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l encryption-master-key-file -d 'Read the encryption master key (base64) from this file' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l auth-timeout -d 'Give up on an authorization request after this long [default: 10s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l user-auth-endpoint -d 'User authentication endpoint: POST socket_id as a form (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l user-auth-transport -d 'How to call the user authentication endpoint: ajax or jsonp [default: ajax]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l user-auth-param -d 'Extra form parameter for the user authentication endpoint, k=v (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l user-auth-header -d 'Extra header for the user authentication endpoint, \'Name: value\' (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l user-auth-command -d 'Shell command that signs the user in: gets {"socket_id"} JSON on stdin, prints {"auth","user_data"} (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l user-data -d 'The user to sign in as when signing locally with --secret: a JSON object with a string "id" (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l user-auth-header-file -d 'Headers for the user authentication endpoint from a file, one \'Name: value\' per line' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l app-id -d 'The app id: with the secret, enables the signed HTTP API (publishing, channel queries)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l api-host -d 'HTTP API host, when not the WebSocket\'s (default: --host, or api-CLUSTER.pusher.com)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l api-port -d 'HTTP API port, when not the WebSocket\'s' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l log-ring -d 'How many events the dashboard\'s log keeps [default: 10000]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l log-bytes -d 'The most memory the dashboard\'s log may use, e.g. 64MiB; the oldest events go first [default: 64MiB]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l record -d 'Record the session to this file: every record, as headless mode prints it, and the commands issued, after a header line (see `chanwatch replay`)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l log-file -d 'Write logs to this file instead of stderr (logs never go to stdout)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l probe -d 'End-to-end latency probe: publish a small event through the HTTP API every INTERVAL [default: 1s] and time its arrival here (needs the app id and secret; on in the demo)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l probe-channel -d 'The channel probes go through, subscribed automatically [default: chanwatch-probe]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l occupancy-interval -d 'Poll the HTTP API for occupied channels and their counts this often [default: 5s; at least 1s]: in the dashboard while its occupancy view is open; headless only when given. With several --node, also how often the nodes\' APIs are compared (always on)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l stats-interval -d 'Emit a `stats` record this often (headless; off by default; at least 1s)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l metrics-listen -d 'Serve Prometheus metrics at http://ADDR/metrics (OpenMetrics on request), readiness at /ready (200 while connected); ADDR is IP:PORT, port 0 picks one (said on stderr)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l webhook-listen -d 'Receive the app\'s webhooks on ADDR:PORT (or :PORT on loopback), check their key and signature with the app secret, and show them beside the socket (the demo starts one on a free loopback port)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l webhook-path -d 'The path webhooks are posted to [default: /webhooks]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l webhook-forward -d 'Pass each webhook request on, body and headers unchanged, to this URL (your real backend) and show its answer' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l node -d 'Watch this node of a cluster, NAME=ws://HOST:PORT (repeatable, one connection per node), optionally ,http://HOST:PORT for its own HTTP API if not on the same port. The app (key, secret, auth) is the same on every node' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l ghost-after -d 'A presence member that differs between nodes after it left one, or after its node went, is a ghost once the difference lasts this long [default: 5s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l tls -d 'Use TLS (wss://); this is the default'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l no-tls -d 'Use plain ws:// (falls back to wss:// if the ws transport is disabled)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l signin -d 'Sign the user in (pusher:signin) after every connect: with --user-auth-endpoint, --user-auth-command, or locally with --secret and --user-data'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l headless -d 'No dashboard: one JSON record per line on stdout, JSON commands on stdin'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l fault-proxy -d 'Put a fault-injection proxy on loopback between chanwatch and the server, so that cut/drop/down/delay faults can be injected (always on in the demo)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l print-config -d 'Print the merged configuration (secrets masked) and where it came from, then exit'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -s v -l verbose -d 'More logging: -v info, -vv debug, -vvv trace (RUST_LOG is used when not given)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l no-probe -d 'No latency probe, not even in the demo'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -l show-probe -d 'Show probe events in the log and the record stream (hidden by default)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand completions" -s h -l help -d 'Print help'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l config -d 'Config file to read instead of the default one (it must exist)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l profile -d 'Profile of the config file to apply: [profiles.NAME] (default: its default_profile)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l url -d 'Everything at once: pusher://KEY:SECRET@HOST:PORT/apps/ID (pushers:// for TLS); the other flags win over its parts' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l key -d 'The app key (never the secret)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l cluster -d 'Pusher cluster, e.g. eu or mt1: connects to ws-CLUSTER.pusher.com' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l host -d 'Server host name or address (sockudo, soketi, Reverb, ...), instead of --cluster' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l ws-port -d 'Port for plain ws:// connections [default: 80]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l wss-port -d 'Port for TLS wss:// connections [default: 443]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l path -d 'Path prefix before /app/KEY, e.g. /ws behind a proxy' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l origin -d 'The Origin header sent with the WebSocket upgrade, e.g. https://app.example.com, for servers that only accept listed origins' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l ws-header -d 'Extra header for the WebSocket upgrade, \'Name: value\' (repeatable): a reverse proxy\'s credentials, a cookie' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l ca-file -d 'PEM file of CA certificates to trust besides the system\'s and the bundled ones (a private CA), for the WebSocket, the auth endpoint and the HTTP API' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l enabled-transports -d 'Transports that may be used (comma list: ws, wss; HTTP fallbacks are reported as unsupported)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l disabled-transports -d 'Transports that must not be used (comma list); wins over --enabled-transports' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l activity-timeout -d 'Ping after this long without an inbound frame (the server\'s value wins if smaller) [default: 120s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l pong-timeout -d 'Reconnect when nothing arrives this long after a ping [default: 30s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l unavailable-timeout -d 'Report `unavailable` after trying to connect for this long [default: 10s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l retry-cap -d 'The longest wait between connection attempts [default: 15s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l handshake-timeout -d 'Give up on an attempt that has not completed the Pusher handshake by then [default: 15s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -s s -l subscribe -d 'Subscribe to CHANNEL at start (repeatable; replaces the config file\'s list)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l secret -d 'App secret: sign subscriptions locally (HMAC-SHA256). Never shown or logged. Prefer PUSHER_APP_SECRET or --secret-file: other users can read a command line' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l secret-file -d 'Read the app secret from this file (one trailing newline is ignored)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l auth-endpoint -d 'Authorization endpoint: POST socket_id and channel_name as a form' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l auth-transport -d 'How to call the auth endpoint: ajax (form POST) or jsonp (GET with a callback) [default: ajax]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l auth-param -d 'Extra form parameter for the auth endpoint, k=v (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l auth-header -d 'Extra header for the auth endpoint, \'Name: value\' (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l auth-header-file -d 'Headers for the auth endpoint from a file, one \'Name: value\' per line (blank lines and lines starting with # are skipped); --auth-header wins for the same name' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l auth-command -d 'Shell command that authorizes: gets {"socket_id","channel_name"} JSON on stdin, prints the auth JSON. Instead of --auth-endpoint' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l user-id -d 'Presence user id when signing locally (a random id when absent)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l user-info -d 'Presence user_info as a JSON object when signing locally' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l encryption-master-key -d 'The server\'s encryption master key (base64 of 32 bytes), so that local signing also gives encrypted channels their key. Never shown or logged' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l encryption-master-key-file -d 'Read the encryption master key (base64) from this file' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l auth-timeout -d 'Give up on an authorization request after this long [default: 10s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l user-auth-endpoint -d 'User authentication endpoint: POST socket_id as a form (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l user-auth-transport -d 'How to call the user authentication endpoint: ajax or jsonp [default: ajax]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l user-auth-param -d 'Extra form parameter for the user authentication endpoint, k=v (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l user-auth-header -d 'Extra header for the user authentication endpoint, \'Name: value\' (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l user-auth-command -d 'Shell command that signs the user in: gets {"socket_id"} JSON on stdin, prints {"auth","user_data"} (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l user-data -d 'The user to sign in as when signing locally with --secret: a JSON object with a string "id" (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l user-auth-header-file -d 'Headers for the user authentication endpoint from a file, one \'Name: value\' per line' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l app-id -d 'The app id: with the secret, enables the signed HTTP API (publishing, channel queries)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l api-host -d 'HTTP API host, when not the WebSocket\'s (default: --host, or api-CLUSTER.pusher.com)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l api-port -d 'HTTP API port, when not the WebSocket\'s' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l log-ring -d 'How many events the dashboard\'s log keeps [default: 10000]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l log-bytes -d 'The most memory the dashboard\'s log may use, e.g. 64MiB; the oldest events go first [default: 64MiB]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l record -d 'Record the session to this file: every record, as headless mode prints it, and the commands issued, after a header line (see `chanwatch replay`)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l log-file -d 'Write logs to this file instead of stderr (logs never go to stdout)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l probe -d 'End-to-end latency probe: publish a small event through the HTTP API every INTERVAL [default: 1s] and time its arrival here (needs the app id and secret; on in the demo)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l probe-channel -d 'The channel probes go through, subscribed automatically [default: chanwatch-probe]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l occupancy-interval -d 'Poll the HTTP API for occupied channels and their counts this often [default: 5s; at least 1s]: in the dashboard while its occupancy view is open; headless only when given. With several --node, also how often the nodes\' APIs are compared (always on)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l stats-interval -d 'Emit a `stats` record this often (headless; off by default; at least 1s)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l metrics-listen -d 'Serve Prometheus metrics at http://ADDR/metrics (OpenMetrics on request), readiness at /ready (200 while connected); ADDR is IP:PORT, port 0 picks one (said on stderr)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l webhook-listen -d 'Receive the app\'s webhooks on ADDR:PORT (or :PORT on loopback), check their key and signature with the app secret, and show them beside the socket (the demo starts one on a free loopback port)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l webhook-path -d 'The path webhooks are posted to [default: /webhooks]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l webhook-forward -d 'Pass each webhook request on, body and headers unchanged, to this URL (your real backend) and show its answer' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l node -d 'Watch this node of a cluster, NAME=ws://HOST:PORT (repeatable, one connection per node), optionally ,http://HOST:PORT for its own HTTP API if not on the same port. The app (key, secret, auth) is the same on every node' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l ghost-after -d 'A presence member that differs between nodes after it left one, or after its node went, is a ghost once the difference lasts this long [default: 5s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l tls -d 'Use TLS (wss://); this is the default'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l no-tls -d 'Use plain ws:// (falls back to wss:// if the ws transport is disabled)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l signin -d 'Sign the user in (pusher:signin) after every connect: with --user-auth-endpoint, --user-auth-command, or locally with --secret and --user-data'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l headless -d 'No dashboard: one JSON record per line on stdout, JSON commands on stdin'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l fault-proxy -d 'Put a fault-injection proxy on loopback between chanwatch and the server, so that cut/drop/down/delay faults can be injected (always on in the demo)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l print-config -d 'Print the merged configuration (secrets masked) and where it came from, then exit'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -s v -l verbose -d 'More logging: -v info, -vv debug, -vvv trace (RUST_LOG is used when not given)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l no-probe -d 'No latency probe, not even in the demo'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -l show-probe -d 'Show probe events in the log and the record stream (hidden by default)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand man" -s h -l help -d 'Print help'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l config -d 'Config file to read instead of the default one (it must exist)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l profile -d 'Profile of the config file to apply: [profiles.NAME] (default: its default_profile)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l url -d 'Everything at once: pusher://KEY:SECRET@HOST:PORT/apps/ID (pushers:// for TLS); the other flags win over its parts' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l key -d 'The app key (never the secret)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l cluster -d 'Pusher cluster, e.g. eu or mt1: connects to ws-CLUSTER.pusher.com' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l host -d 'Server host name or address (sockudo, soketi, Reverb, ...), instead of --cluster' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l ws-port -d 'Port for plain ws:// connections [default: 80]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l wss-port -d 'Port for TLS wss:// connections [default: 443]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l path -d 'Path prefix before /app/KEY, e.g. /ws behind a proxy' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l origin -d 'The Origin header sent with the WebSocket upgrade, e.g. https://app.example.com, for servers that only accept listed origins' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l ws-header -d 'Extra header for the WebSocket upgrade, \'Name: value\' (repeatable): a reverse proxy\'s credentials, a cookie' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l ca-file -d 'PEM file of CA certificates to trust besides the system\'s and the bundled ones (a private CA), for the WebSocket, the auth endpoint and the HTTP API' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l enabled-transports -d 'Transports that may be used (comma list: ws, wss; HTTP fallbacks are reported as unsupported)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l disabled-transports -d 'Transports that must not be used (comma list); wins over --enabled-transports' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l activity-timeout -d 'Ping after this long without an inbound frame (the server\'s value wins if smaller) [default: 120s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l pong-timeout -d 'Reconnect when nothing arrives this long after a ping [default: 30s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l unavailable-timeout -d 'Report `unavailable` after trying to connect for this long [default: 10s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l retry-cap -d 'The longest wait between connection attempts [default: 15s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l handshake-timeout -d 'Give up on an attempt that has not completed the Pusher handshake by then [default: 15s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -s s -l subscribe -d 'Subscribe to CHANNEL at start (repeatable; replaces the config file\'s list)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l secret -d 'App secret: sign subscriptions locally (HMAC-SHA256). Never shown or logged. Prefer PUSHER_APP_SECRET or --secret-file: other users can read a command line' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l secret-file -d 'Read the app secret from this file (one trailing newline is ignored)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l auth-endpoint -d 'Authorization endpoint: POST socket_id and channel_name as a form' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l auth-transport -d 'How to call the auth endpoint: ajax (form POST) or jsonp (GET with a callback) [default: ajax]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l auth-param -d 'Extra form parameter for the auth endpoint, k=v (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l auth-header -d 'Extra header for the auth endpoint, \'Name: value\' (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l auth-header-file -d 'Headers for the auth endpoint from a file, one \'Name: value\' per line (blank lines and lines starting with # are skipped); --auth-header wins for the same name' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l auth-command -d 'Shell command that authorizes: gets {"socket_id","channel_name"} JSON on stdin, prints the auth JSON. Instead of --auth-endpoint' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l user-id -d 'Presence user id when signing locally (a random id when absent)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l user-info -d 'Presence user_info as a JSON object when signing locally' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l encryption-master-key -d 'The server\'s encryption master key (base64 of 32 bytes), so that local signing also gives encrypted channels their key. Never shown or logged' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l encryption-master-key-file -d 'Read the encryption master key (base64) from this file' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l auth-timeout -d 'Give up on an authorization request after this long [default: 10s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l user-auth-endpoint -d 'User authentication endpoint: POST socket_id as a form (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l user-auth-transport -d 'How to call the user authentication endpoint: ajax or jsonp [default: ajax]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l user-auth-param -d 'Extra form parameter for the user authentication endpoint, k=v (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l user-auth-header -d 'Extra header for the user authentication endpoint, \'Name: value\' (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l user-auth-command -d 'Shell command that signs the user in: gets {"socket_id"} JSON on stdin, prints {"auth","user_data"} (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l user-data -d 'The user to sign in as when signing locally with --secret: a JSON object with a string "id" (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l user-auth-header-file -d 'Headers for the user authentication endpoint from a file, one \'Name: value\' per line' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l app-id -d 'The app id: with the secret, enables the signed HTTP API (publishing, channel queries)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l api-host -d 'HTTP API host, when not the WebSocket\'s (default: --host, or api-CLUSTER.pusher.com)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l api-port -d 'HTTP API port, when not the WebSocket\'s' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l log-ring -d 'How many events the dashboard\'s log keeps [default: 10000]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l log-bytes -d 'The most memory the dashboard\'s log may use, e.g. 64MiB; the oldest events go first [default: 64MiB]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l record -d 'Record the session to this file: every record, as headless mode prints it, and the commands issued, after a header line (see `chanwatch replay`)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l log-file -d 'Write logs to this file instead of stderr (logs never go to stdout)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l probe -d 'End-to-end latency probe: publish a small event through the HTTP API every INTERVAL [default: 1s] and time its arrival here (needs the app id and secret; on in the demo)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l probe-channel -d 'The channel probes go through, subscribed automatically [default: chanwatch-probe]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l occupancy-interval -d 'Poll the HTTP API for occupied channels and their counts this often [default: 5s; at least 1s]: in the dashboard while its occupancy view is open; headless only when given. With several --node, also how often the nodes\' APIs are compared (always on)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l stats-interval -d 'Emit a `stats` record this often (headless; off by default; at least 1s)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l metrics-listen -d 'Serve Prometheus metrics at http://ADDR/metrics (OpenMetrics on request), readiness at /ready (200 while connected); ADDR is IP:PORT, port 0 picks one (said on stderr)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l webhook-listen -d 'Receive the app\'s webhooks on ADDR:PORT (or :PORT on loopback), check their key and signature with the app secret, and show them beside the socket (the demo starts one on a free loopback port)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l webhook-path -d 'The path webhooks are posted to [default: /webhooks]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l webhook-forward -d 'Pass each webhook request on, body and headers unchanged, to this URL (your real backend) and show its answer' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l node -d 'Watch this node of a cluster, NAME=ws://HOST:PORT (repeatable, one connection per node), optionally ,http://HOST:PORT for its own HTTP API if not on the same port. The app (key, secret, auth) is the same on every node' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l ghost-after -d 'A presence member that differs between nodes after it left one, or after its node went, is a ghost once the difference lasts this long [default: 5s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l tls -d 'Use TLS (wss://); this is the default'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l no-tls -d 'Use plain ws:// (falls back to wss:// if the ws transport is disabled)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l signin -d 'Sign the user in (pusher:signin) after every connect: with --user-auth-endpoint, --user-auth-command, or locally with --secret and --user-data'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l headless -d 'No dashboard: one JSON record per line on stdout, JSON commands on stdin'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l fault-proxy -d 'Put a fault-injection proxy on loopback between chanwatch and the server, so that cut/drop/down/delay faults can be injected (always on in the demo)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l print-config -d 'Print the merged configuration (secrets masked) and where it came from, then exit'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -s v -l verbose -d 'More logging: -v info, -vv debug, -vvv trace (RUST_LOG is used when not given)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l no-probe -d 'No latency probe, not even in the demo'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -l show-probe -d 'Show probe events in the log and the record stream (hidden by default)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -s h -l help -d 'Print help'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -f -a "init" -d 'Write a commented starter config file where chanwatch looks for it (or at --config PATH), with its keys in [profiles.NAME] when --profile NAME is given (1 to 64 ASCII letters, digits, \'-\', \'_\' or \'.\'); never overwrites a file. Prints the path'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -f -a "path" -d 'Print the path of the config file chanwatch reads (--config, CHANWATCH_CONFIG, or the platform\'s config directory), whether or not it exists'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and not __fish_seen_subcommand_from init path help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l config -d 'Config file to read instead of the default one (it must exist)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l profile -d 'Profile of the config file to apply: [profiles.NAME] (default: its default_profile)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l url -d 'Everything at once: pusher://KEY:SECRET@HOST:PORT/apps/ID (pushers:// for TLS); the other flags win over its parts' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l key -d 'The app key (never the secret)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l cluster -d 'Pusher cluster, e.g. eu or mt1: connects to ws-CLUSTER.pusher.com' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l host -d 'Server host name or address (sockudo, soketi, Reverb, ...), instead of --cluster' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l ws-port -d 'Port for plain ws:// connections [default: 80]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l wss-port -d 'Port for TLS wss:// connections [default: 443]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l path -d 'Path prefix before /app/KEY, e.g. /ws behind a proxy' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l origin -d 'The Origin header sent with the WebSocket upgrade, e.g. https://app.example.com, for servers that only accept listed origins' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l ws-header -d 'Extra header for the WebSocket upgrade, \'Name: value\' (repeatable): a reverse proxy\'s credentials, a cookie' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l ca-file -d 'PEM file of CA certificates to trust besides the system\'s and the bundled ones (a private CA), for the WebSocket, the auth endpoint and the HTTP API' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l enabled-transports -d 'Transports that may be used (comma list: ws, wss; HTTP fallbacks are reported as unsupported)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l disabled-transports -d 'Transports that must not be used (comma list); wins over --enabled-transports' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l activity-timeout -d 'Ping after this long without an inbound frame (the server\'s value wins if smaller) [default: 120s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l pong-timeout -d 'Reconnect when nothing arrives this long after a ping [default: 30s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l unavailable-timeout -d 'Report `unavailable` after trying to connect for this long [default: 10s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l retry-cap -d 'The longest wait between connection attempts [default: 15s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l handshake-timeout -d 'Give up on an attempt that has not completed the Pusher handshake by then [default: 15s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -s s -l subscribe -d 'Subscribe to CHANNEL at start (repeatable; replaces the config file\'s list)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l secret -d 'App secret: sign subscriptions locally (HMAC-SHA256). Never shown or logged. Prefer PUSHER_APP_SECRET or --secret-file: other users can read a command line' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l secret-file -d 'Read the app secret from this file (one trailing newline is ignored)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l auth-endpoint -d 'Authorization endpoint: POST socket_id and channel_name as a form' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l auth-transport -d 'How to call the auth endpoint: ajax (form POST) or jsonp (GET with a callback) [default: ajax]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l auth-param -d 'Extra form parameter for the auth endpoint, k=v (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l auth-header -d 'Extra header for the auth endpoint, \'Name: value\' (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l auth-header-file -d 'Headers for the auth endpoint from a file, one \'Name: value\' per line (blank lines and lines starting with # are skipped); --auth-header wins for the same name' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l auth-command -d 'Shell command that authorizes: gets {"socket_id","channel_name"} JSON on stdin, prints the auth JSON. Instead of --auth-endpoint' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l user-id -d 'Presence user id when signing locally (a random id when absent)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l user-info -d 'Presence user_info as a JSON object when signing locally' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l encryption-master-key -d 'The server\'s encryption master key (base64 of 32 bytes), so that local signing also gives encrypted channels their key. Never shown or logged' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l encryption-master-key-file -d 'Read the encryption master key (base64) from this file' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l auth-timeout -d 'Give up on an authorization request after this long [default: 10s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l user-auth-endpoint -d 'User authentication endpoint: POST socket_id as a form (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l user-auth-transport -d 'How to call the user authentication endpoint: ajax or jsonp [default: ajax]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l user-auth-param -d 'Extra form parameter for the user authentication endpoint, k=v (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l user-auth-header -d 'Extra header for the user authentication endpoint, \'Name: value\' (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l user-auth-command -d 'Shell command that signs the user in: gets {"socket_id"} JSON on stdin, prints {"auth","user_data"} (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l user-data -d 'The user to sign in as when signing locally with --secret: a JSON object with a string "id" (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l user-auth-header-file -d 'Headers for the user authentication endpoint from a file, one \'Name: value\' per line' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l app-id -d 'The app id: with the secret, enables the signed HTTP API (publishing, channel queries)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l api-host -d 'HTTP API host, when not the WebSocket\'s (default: --host, or api-CLUSTER.pusher.com)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l api-port -d 'HTTP API port, when not the WebSocket\'s' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l log-ring -d 'How many events the dashboard\'s log keeps [default: 10000]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l log-bytes -d 'The most memory the dashboard\'s log may use, e.g. 64MiB; the oldest events go first [default: 64MiB]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l record -d 'Record the session to this file: every record, as headless mode prints it, and the commands issued, after a header line (see `chanwatch replay`)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l log-file -d 'Write logs to this file instead of stderr (logs never go to stdout)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l probe -d 'End-to-end latency probe: publish a small event through the HTTP API every INTERVAL [default: 1s] and time its arrival here (needs the app id and secret; on in the demo)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l probe-channel -d 'The channel probes go through, subscribed automatically [default: chanwatch-probe]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l occupancy-interval -d 'Poll the HTTP API for occupied channels and their counts this often [default: 5s; at least 1s]: in the dashboard while its occupancy view is open; headless only when given. With several --node, also how often the nodes\' APIs are compared (always on)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l stats-interval -d 'Emit a `stats` record this often (headless; off by default; at least 1s)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l metrics-listen -d 'Serve Prometheus metrics at http://ADDR/metrics (OpenMetrics on request), readiness at /ready (200 while connected); ADDR is IP:PORT, port 0 picks one (said on stderr)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l webhook-listen -d 'Receive the app\'s webhooks on ADDR:PORT (or :PORT on loopback), check their key and signature with the app secret, and show them beside the socket (the demo starts one on a free loopback port)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l webhook-path -d 'The path webhooks are posted to [default: /webhooks]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l webhook-forward -d 'Pass each webhook request on, body and headers unchanged, to this URL (your real backend) and show its answer' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l node -d 'Watch this node of a cluster, NAME=ws://HOST:PORT (repeatable, one connection per node), optionally ,http://HOST:PORT for its own HTTP API if not on the same port. The app (key, secret, auth) is the same on every node' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l ghost-after -d 'A presence member that differs between nodes after it left one, or after its node went, is a ghost once the difference lasts this long [default: 5s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l tls -d 'Use TLS (wss://); this is the default'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l no-tls -d 'Use plain ws:// (falls back to wss:// if the ws transport is disabled)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l signin -d 'Sign the user in (pusher:signin) after every connect: with --user-auth-endpoint, --user-auth-command, or locally with --secret and --user-data'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l headless -d 'No dashboard: one JSON record per line on stdout, JSON commands on stdin'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l fault-proxy -d 'Put a fault-injection proxy on loopback between chanwatch and the server, so that cut/drop/down/delay faults can be injected (always on in the demo)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l print-config -d 'Print the merged configuration (secrets masked) and where it came from, then exit'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -s v -l verbose -d 'More logging: -v info, -vv debug, -vvv trace (RUST_LOG is used when not given)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l no-probe -d 'No latency probe, not even in the demo'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -l show-probe -d 'Show probe events in the log and the record stream (hidden by default)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l config -d 'Config file to read instead of the default one (it must exist)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l profile -d 'Profile of the config file to apply: [profiles.NAME] (default: its default_profile)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l url -d 'Everything at once: pusher://KEY:SECRET@HOST:PORT/apps/ID (pushers:// for TLS); the other flags win over its parts' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l key -d 'The app key (never the secret)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l cluster -d 'Pusher cluster, e.g. eu or mt1: connects to ws-CLUSTER.pusher.com' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l host -d 'Server host name or address (sockudo, soketi, Reverb, ...), instead of --cluster' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l ws-port -d 'Port for plain ws:// connections [default: 80]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l wss-port -d 'Port for TLS wss:// connections [default: 443]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l path -d 'Path prefix before /app/KEY, e.g. /ws behind a proxy' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l origin -d 'The Origin header sent with the WebSocket upgrade, e.g. https://app.example.com, for servers that only accept listed origins' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l ws-header -d 'Extra header for the WebSocket upgrade, \'Name: value\' (repeatable): a reverse proxy\'s credentials, a cookie' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l ca-file -d 'PEM file of CA certificates to trust besides the system\'s and the bundled ones (a private CA), for the WebSocket, the auth endpoint and the HTTP API' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l enabled-transports -d 'Transports that may be used (comma list: ws, wss; HTTP fallbacks are reported as unsupported)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l disabled-transports -d 'Transports that must not be used (comma list); wins over --enabled-transports' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l activity-timeout -d 'Ping after this long without an inbound frame (the server\'s value wins if smaller) [default: 120s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l pong-timeout -d 'Reconnect when nothing arrives this long after a ping [default: 30s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l unavailable-timeout -d 'Report `unavailable` after trying to connect for this long [default: 10s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l retry-cap -d 'The longest wait between connection attempts [default: 15s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l handshake-timeout -d 'Give up on an attempt that has not completed the Pusher handshake by then [default: 15s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -s s -l subscribe -d 'Subscribe to CHANNEL at start (repeatable; replaces the config file\'s list)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l secret -d 'App secret: sign subscriptions locally (HMAC-SHA256). Never shown or logged. Prefer PUSHER_APP_SECRET or --secret-file: other users can read a command line' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l secret-file -d 'Read the app secret from this file (one trailing newline is ignored)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l auth-endpoint -d 'Authorization endpoint: POST socket_id and channel_name as a form' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l auth-transport -d 'How to call the auth endpoint: ajax (form POST) or jsonp (GET with a callback) [default: ajax]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l auth-param -d 'Extra form parameter for the auth endpoint, k=v (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l auth-header -d 'Extra header for the auth endpoint, \'Name: value\' (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l auth-header-file -d 'Headers for the auth endpoint from a file, one \'Name: value\' per line (blank lines and lines starting with # are skipped); --auth-header wins for the same name' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l auth-command -d 'Shell command that authorizes: gets {"socket_id","channel_name"} JSON on stdin, prints the auth JSON. Instead of --auth-endpoint' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l user-id -d 'Presence user id when signing locally (a random id when absent)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l user-info -d 'Presence user_info as a JSON object when signing locally' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l encryption-master-key -d 'The server\'s encryption master key (base64 of 32 bytes), so that local signing also gives encrypted channels their key. Never shown or logged' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l encryption-master-key-file -d 'Read the encryption master key (base64) from this file' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l auth-timeout -d 'Give up on an authorization request after this long [default: 10s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l user-auth-endpoint -d 'User authentication endpoint: POST socket_id as a form (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l user-auth-transport -d 'How to call the user authentication endpoint: ajax or jsonp [default: ajax]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l user-auth-param -d 'Extra form parameter for the user authentication endpoint, k=v (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l user-auth-header -d 'Extra header for the user authentication endpoint, \'Name: value\' (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l user-auth-command -d 'Shell command that signs the user in: gets {"socket_id"} JSON on stdin, prints {"auth","user_data"} (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l user-data -d 'The user to sign in as when signing locally with --secret: a JSON object with a string "id" (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l user-auth-header-file -d 'Headers for the user authentication endpoint from a file, one \'Name: value\' per line' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l app-id -d 'The app id: with the secret, enables the signed HTTP API (publishing, channel queries)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l api-host -d 'HTTP API host, when not the WebSocket\'s (default: --host, or api-CLUSTER.pusher.com)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l api-port -d 'HTTP API port, when not the WebSocket\'s' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l log-ring -d 'How many events the dashboard\'s log keeps [default: 10000]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l log-bytes -d 'The most memory the dashboard\'s log may use, e.g. 64MiB; the oldest events go first [default: 64MiB]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l record -d 'Record the session to this file: every record, as headless mode prints it, and the commands issued, after a header line (see `chanwatch replay`)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l log-file -d 'Write logs to this file instead of stderr (logs never go to stdout)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l probe -d 'End-to-end latency probe: publish a small event through the HTTP API every INTERVAL [default: 1s] and time its arrival here (needs the app id and secret; on in the demo)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l probe-channel -d 'The channel probes go through, subscribed automatically [default: chanwatch-probe]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l occupancy-interval -d 'Poll the HTTP API for occupied channels and their counts this often [default: 5s; at least 1s]: in the dashboard while its occupancy view is open; headless only when given. With several --node, also how often the nodes\' APIs are compared (always on)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l stats-interval -d 'Emit a `stats` record this often (headless; off by default; at least 1s)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l metrics-listen -d 'Serve Prometheus metrics at http://ADDR/metrics (OpenMetrics on request), readiness at /ready (200 while connected); ADDR is IP:PORT, port 0 picks one (said on stderr)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l webhook-listen -d 'Receive the app\'s webhooks on ADDR:PORT (or :PORT on loopback), check their key and signature with the app secret, and show them beside the socket (the demo starts one on a free loopback port)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l webhook-path -d 'The path webhooks are posted to [default: /webhooks]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l webhook-forward -d 'Pass each webhook request on, body and headers unchanged, to this URL (your real backend) and show its answer' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l node -d 'Watch this node of a cluster, NAME=ws://HOST:PORT (repeatable, one connection per node), optionally ,http://HOST:PORT for its own HTTP API if not on the same port. The app (key, secret, auth) is the same on every node' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l ghost-after -d 'A presence member that differs between nodes after it left one, or after its node went, is a ghost once the difference lasts this long [default: 5s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l tls -d 'Use TLS (wss://); this is the default'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l no-tls -d 'Use plain ws:// (falls back to wss:// if the ws transport is disabled)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l signin -d 'Sign the user in (pusher:signin) after every connect: with --user-auth-endpoint, --user-auth-command, or locally with --secret and --user-data'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l headless -d 'No dashboard: one JSON record per line on stdout, JSON commands on stdin'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l fault-proxy -d 'Put a fault-injection proxy on loopback between chanwatch and the server, so that cut/drop/down/delay faults can be injected (always on in the demo)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l print-config -d 'Print the merged configuration (secrets masked) and where it came from, then exit'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -s v -l verbose -d 'More logging: -v info, -vv debug, -vvv trace (RUST_LOG is used when not given)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l no-probe -d 'No latency probe, not even in the demo'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -l show-probe -d 'Show probe events in the log and the record stream (hidden by default)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from path" -s h -l help -d 'Print help'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "init" -d 'Write a commented starter config file where chanwatch looks for it (or at --config PATH), with its keys in [profiles.NAME] when --profile NAME is given (1 to 64 ASCII letters, digits, \'-\', \'_\' or \'.\'); never overwrites a file. Prints the path'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "path" -d 'Print the path of the config file chanwatch reads (--config, CHANWATCH_CONFIG, or the platform\'s config directory), whether or not it exists'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l speed -d 'How fast: a factor of the recorded pace (4, 0.5), or max for as fast as possible [default: 1]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l channel -d 'Headless: only records on this channel (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l event -d 'Headless: only records with this event name (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l since -d 'Headless: only records from this time on: RFC 3339, or an offset from the start of the recording such as 30s or 2m (at most 100 years)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l until -d 'Headless: only records up to this time: RFC 3339, or an offset from the start (at most 100 years)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l config -d 'Config file to read instead of the default one (it must exist)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l profile -d 'Profile of the config file to apply: [profiles.NAME] (default: its default_profile)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l url -d 'Everything at once: pusher://KEY:SECRET@HOST:PORT/apps/ID (pushers:// for TLS); the other flags win over its parts' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l key -d 'The app key (never the secret)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l cluster -d 'Pusher cluster, e.g. eu or mt1: connects to ws-CLUSTER.pusher.com' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l host -d 'Server host name or address (sockudo, soketi, Reverb, ...), instead of --cluster' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l ws-port -d 'Port for plain ws:// connections [default: 80]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l wss-port -d 'Port for TLS wss:// connections [default: 443]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l path -d 'Path prefix before /app/KEY, e.g. /ws behind a proxy' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l origin -d 'The Origin header sent with the WebSocket upgrade, e.g. https://app.example.com, for servers that only accept listed origins' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l ws-header -d 'Extra header for the WebSocket upgrade, \'Name: value\' (repeatable): a reverse proxy\'s credentials, a cookie' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l ca-file -d 'PEM file of CA certificates to trust besides the system\'s and the bundled ones (a private CA), for the WebSocket, the auth endpoint and the HTTP API' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l enabled-transports -d 'Transports that may be used (comma list: ws, wss; HTTP fallbacks are reported as unsupported)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l disabled-transports -d 'Transports that must not be used (comma list); wins over --enabled-transports' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l activity-timeout -d 'Ping after this long without an inbound frame (the server\'s value wins if smaller) [default: 120s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l pong-timeout -d 'Reconnect when nothing arrives this long after a ping [default: 30s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l unavailable-timeout -d 'Report `unavailable` after trying to connect for this long [default: 10s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l retry-cap -d 'The longest wait between connection attempts [default: 15s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l handshake-timeout -d 'Give up on an attempt that has not completed the Pusher handshake by then [default: 15s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -s s -l subscribe -d 'Subscribe to CHANNEL at start (repeatable; replaces the config file\'s list)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l secret -d 'App secret: sign subscriptions locally (HMAC-SHA256). Never shown or logged. Prefer PUSHER_APP_SECRET or --secret-file: other users can read a command line' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l secret-file -d 'Read the app secret from this file (one trailing newline is ignored)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l auth-endpoint -d 'Authorization endpoint: POST socket_id and channel_name as a form' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l auth-transport -d 'How to call the auth endpoint: ajax (form POST) or jsonp (GET with a callback) [default: ajax]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l auth-param -d 'Extra form parameter for the auth endpoint, k=v (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l auth-header -d 'Extra header for the auth endpoint, \'Name: value\' (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l auth-header-file -d 'Headers for the auth endpoint from a file, one \'Name: value\' per line (blank lines and lines starting with # are skipped); --auth-header wins for the same name' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l auth-command -d 'Shell command that authorizes: gets {"socket_id","channel_name"} JSON on stdin, prints the auth JSON. Instead of --auth-endpoint' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l user-id -d 'Presence user id when signing locally (a random id when absent)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l user-info -d 'Presence user_info as a JSON object when signing locally' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l encryption-master-key -d 'The server\'s encryption master key (base64 of 32 bytes), so that local signing also gives encrypted channels their key. Never shown or logged' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l encryption-master-key-file -d 'Read the encryption master key (base64) from this file' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l auth-timeout -d 'Give up on an authorization request after this long [default: 10s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l user-auth-endpoint -d 'User authentication endpoint: POST socket_id as a form (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l user-auth-transport -d 'How to call the user authentication endpoint: ajax or jsonp [default: ajax]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l user-auth-param -d 'Extra form parameter for the user authentication endpoint, k=v (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l user-auth-header -d 'Extra header for the user authentication endpoint, \'Name: value\' (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l user-auth-command -d 'Shell command that signs the user in: gets {"socket_id"} JSON on stdin, prints {"auth","user_data"} (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l user-data -d 'The user to sign in as when signing locally with --secret: a JSON object with a string "id" (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l user-auth-header-file -d 'Headers for the user authentication endpoint from a file, one \'Name: value\' per line' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l app-id -d 'The app id: with the secret, enables the signed HTTP API (publishing, channel queries)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l api-host -d 'HTTP API host, when not the WebSocket\'s (default: --host, or api-CLUSTER.pusher.com)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l api-port -d 'HTTP API port, when not the WebSocket\'s' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l log-ring -d 'How many events the dashboard\'s log keeps [default: 10000]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l log-bytes -d 'The most memory the dashboard\'s log may use, e.g. 64MiB; the oldest events go first [default: 64MiB]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l record -d 'Record the session to this file: every record, as headless mode prints it, and the commands issued, after a header line (see `chanwatch replay`)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l log-file -d 'Write logs to this file instead of stderr (logs never go to stdout)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l probe -d 'End-to-end latency probe: publish a small event through the HTTP API every INTERVAL [default: 1s] and time its arrival here (needs the app id and secret; on in the demo)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l probe-channel -d 'The channel probes go through, subscribed automatically [default: chanwatch-probe]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l occupancy-interval -d 'Poll the HTTP API for occupied channels and their counts this often [default: 5s; at least 1s]: in the dashboard while its occupancy view is open; headless only when given. With several --node, also how often the nodes\' APIs are compared (always on)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l stats-interval -d 'Emit a `stats` record this often (headless; off by default; at least 1s)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l metrics-listen -d 'Serve Prometheus metrics at http://ADDR/metrics (OpenMetrics on request), readiness at /ready (200 while connected); ADDR is IP:PORT, port 0 picks one (said on stderr)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l webhook-listen -d 'Receive the app\'s webhooks on ADDR:PORT (or :PORT on loopback), check their key and signature with the app secret, and show them beside the socket (the demo starts one on a free loopback port)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l webhook-path -d 'The path webhooks are posted to [default: /webhooks]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l webhook-forward -d 'Pass each webhook request on, body and headers unchanged, to this URL (your real backend) and show its answer' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l node -d 'Watch this node of a cluster, NAME=ws://HOST:PORT (repeatable, one connection per node), optionally ,http://HOST:PORT for its own HTTP API if not on the same port. The app (key, secret, auth) is the same on every node' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l ghost-after -d 'A presence member that differs between nodes after it left one, or after its node went, is a ghost once the difference lasts this long [default: 5s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l tls -d 'Use TLS (wss://); this is the default'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l no-tls -d 'Use plain ws:// (falls back to wss:// if the ws transport is disabled)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l signin -d 'Sign the user in (pusher:signin) after every connect: with --user-auth-endpoint, --user-auth-command, or locally with --secret and --user-data'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l headless -d 'No dashboard: one JSON record per line on stdout, JSON commands on stdin'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l fault-proxy -d 'Put a fault-injection proxy on loopback between chanwatch and the server, so that cut/drop/down/delay faults can be injected (always on in the demo)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l print-config -d 'Print the merged configuration (secrets masked) and where it came from, then exit'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -s v -l verbose -d 'More logging: -v info, -vv debug, -vvv trace (RUST_LOG is used when not given)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l no-probe -d 'No latency probe, not even in the demo'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -l show-probe -d 'Show probe events in the log and the record stream (hidden by default)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand replay" -s h -l help -d 'Print help'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l channel -d 'The public channel to subscribe to and publish the probes through; its private- and presence- twins are checked too when channels can be authorized [default: chanwatch-check]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l samples -d 'How many probe messages to publish through the HTTP API and time on the socket (1 to 100) [default: 3]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l warn-latency -d 'A probe slower than this is a WARNING [default: 500ms]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l crit-latency -d 'A probe slower than this is CRITICAL [default: 2s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l timeout -d 'The whole check\'s time limit; a step still running then is CRITICAL [default: 10s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l config -d 'Config file to read instead of the default one (it must exist)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l profile -d 'Profile of the config file to apply: [profiles.NAME] (default: its default_profile)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l url -d 'Everything at once: pusher://KEY:SECRET@HOST:PORT/apps/ID (pushers:// for TLS); the other flags win over its parts' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l key -d 'The app key (never the secret)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l cluster -d 'Pusher cluster, e.g. eu or mt1: connects to ws-CLUSTER.pusher.com' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l host -d 'Server host name or address (sockudo, soketi, Reverb, ...), instead of --cluster' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l ws-port -d 'Port for plain ws:// connections [default: 80]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l wss-port -d 'Port for TLS wss:// connections [default: 443]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l path -d 'Path prefix before /app/KEY, e.g. /ws behind a proxy' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l origin -d 'The Origin header sent with the WebSocket upgrade, e.g. https://app.example.com, for servers that only accept listed origins' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l ws-header -d 'Extra header for the WebSocket upgrade, \'Name: value\' (repeatable): a reverse proxy\'s credentials, a cookie' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l ca-file -d 'PEM file of CA certificates to trust besides the system\'s and the bundled ones (a private CA), for the WebSocket, the auth endpoint and the HTTP API' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l enabled-transports -d 'Transports that may be used (comma list: ws, wss; HTTP fallbacks are reported as unsupported)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l disabled-transports -d 'Transports that must not be used (comma list); wins over --enabled-transports' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l activity-timeout -d 'Ping after this long without an inbound frame (the server\'s value wins if smaller) [default: 120s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l pong-timeout -d 'Reconnect when nothing arrives this long after a ping [default: 30s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l unavailable-timeout -d 'Report `unavailable` after trying to connect for this long [default: 10s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l retry-cap -d 'The longest wait between connection attempts [default: 15s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l handshake-timeout -d 'Give up on an attempt that has not completed the Pusher handshake by then [default: 15s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -s s -l subscribe -d 'Subscribe to CHANNEL at start (repeatable; replaces the config file\'s list)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l secret -d 'App secret: sign subscriptions locally (HMAC-SHA256). Never shown or logged. Prefer PUSHER_APP_SECRET or --secret-file: other users can read a command line' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l secret-file -d 'Read the app secret from this file (one trailing newline is ignored)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l auth-endpoint -d 'Authorization endpoint: POST socket_id and channel_name as a form' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l auth-transport -d 'How to call the auth endpoint: ajax (form POST) or jsonp (GET with a callback) [default: ajax]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l auth-param -d 'Extra form parameter for the auth endpoint, k=v (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l auth-header -d 'Extra header for the auth endpoint, \'Name: value\' (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l auth-header-file -d 'Headers for the auth endpoint from a file, one \'Name: value\' per line (blank lines and lines starting with # are skipped); --auth-header wins for the same name' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l auth-command -d 'Shell command that authorizes: gets {"socket_id","channel_name"} JSON on stdin, prints the auth JSON. Instead of --auth-endpoint' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l user-id -d 'Presence user id when signing locally (a random id when absent)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l user-info -d 'Presence user_info as a JSON object when signing locally' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l encryption-master-key -d 'The server\'s encryption master key (base64 of 32 bytes), so that local signing also gives encrypted channels their key. Never shown or logged' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l encryption-master-key-file -d 'Read the encryption master key (base64) from this file' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l auth-timeout -d 'Give up on an authorization request after this long [default: 10s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l user-auth-endpoint -d 'User authentication endpoint: POST socket_id as a form (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l user-auth-transport -d 'How to call the user authentication endpoint: ajax or jsonp [default: ajax]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l user-auth-param -d 'Extra form parameter for the user authentication endpoint, k=v (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l user-auth-header -d 'Extra header for the user authentication endpoint, \'Name: value\' (repeatable)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l user-auth-command -d 'Shell command that signs the user in: gets {"socket_id"} JSON on stdin, prints {"auth","user_data"} (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l user-data -d 'The user to sign in as when signing locally with --secret: a JSON object with a string "id" (implies --signin)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l user-auth-header-file -d 'Headers for the user authentication endpoint from a file, one \'Name: value\' per line' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l app-id -d 'The app id: with the secret, enables the signed HTTP API (publishing, channel queries)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l api-host -d 'HTTP API host, when not the WebSocket\'s (default: --host, or api-CLUSTER.pusher.com)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l api-port -d 'HTTP API port, when not the WebSocket\'s' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l log-ring -d 'How many events the dashboard\'s log keeps [default: 10000]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l log-bytes -d 'The most memory the dashboard\'s log may use, e.g. 64MiB; the oldest events go first [default: 64MiB]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l record -d 'Record the session to this file: every record, as headless mode prints it, and the commands issued, after a header line (see `chanwatch replay`)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l log-file -d 'Write logs to this file instead of stderr (logs never go to stdout)' -r -F
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l probe -d 'End-to-end latency probe: publish a small event through the HTTP API every INTERVAL [default: 1s] and time its arrival here (needs the app id and secret; on in the demo)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l probe-channel -d 'The channel probes go through, subscribed automatically [default: chanwatch-probe]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l occupancy-interval -d 'Poll the HTTP API for occupied channels and their counts this often [default: 5s; at least 1s]: in the dashboard while its occupancy view is open; headless only when given. With several --node, also how often the nodes\' APIs are compared (always on)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l stats-interval -d 'Emit a `stats` record this often (headless; off by default; at least 1s)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l metrics-listen -d 'Serve Prometheus metrics at http://ADDR/metrics (OpenMetrics on request), readiness at /ready (200 while connected); ADDR is IP:PORT, port 0 picks one (said on stderr)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l webhook-listen -d 'Receive the app\'s webhooks on ADDR:PORT (or :PORT on loopback), check their key and signature with the app secret, and show them beside the socket (the demo starts one on a free loopback port)' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l webhook-path -d 'The path webhooks are posted to [default: /webhooks]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l webhook-forward -d 'Pass each webhook request on, body and headers unchanged, to this URL (your real backend) and show its answer' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l node -d 'Watch this node of a cluster, NAME=ws://HOST:PORT (repeatable, one connection per node), optionally ,http://HOST:PORT for its own HTTP API if not on the same port. The app (key, secret, auth) is the same on every node' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l ghost-after -d 'A presence member that differs between nodes after it left one, or after its node went, is a ghost once the difference lasts this long [default: 5s]' -r
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l no-presence -d 'Do not check the presence- twin (for an auth endpoint that authorizes private channels only)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l json -d 'Print one JSON document instead of the Nagios-style text'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l tls -d 'Use TLS (wss://); this is the default'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l no-tls -d 'Use plain ws:// (falls back to wss:// if the ws transport is disabled)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l signin -d 'Sign the user in (pusher:signin) after every connect: with --user-auth-endpoint, --user-auth-command, or locally with --secret and --user-data'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l headless -d 'No dashboard: one JSON record per line on stdout, JSON commands on stdin'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l fault-proxy -d 'Put a fault-injection proxy on loopback between chanwatch and the server, so that cut/drop/down/delay faults can be injected (always on in the demo)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l print-config -d 'Print the merged configuration (secrets masked) and where it came from, then exit'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -s v -l verbose -d 'More logging: -v info, -vv debug, -vvv trace (RUST_LOG is used when not given)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l no-probe -d 'No latency probe, not even in the demo'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -l show-probe -d 'Show probe events in the log and the record stream (hidden by default)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand check" -s h -l help -d 'Print help'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand help; and not __fish_seen_subcommand_from demo completions man config replay check help" -f -a "demo" -d 'Start a built-in demo server on loopback with simulated traffic and watch it: no network, no config file, no credentials. Faults can be injected (key x, or the headless `fault` command). With --nodes N, a demo cluster of N nodes'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand help; and not __fish_seen_subcommand_from demo completions man config replay check help" -f -a "completions" -d 'Print a completion script for SHELL on stdout (see the README for where it goes)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand help; and not __fish_seen_subcommand_from demo completions man config replay check help" -f -a "man" -d 'Print the man page (roff) on stdout, e.g. `chanwatch man > chanwatch.1`'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand help; and not __fish_seen_subcommand_from demo completions man config replay check help" -f -a "config" -d 'The config file: write a commented starter one, or show where it is looked for'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand help; and not __fish_seen_subcommand_from demo completions man config replay check help" -f -a "replay" -d 'Replay a recording made with --record: the dashboard at the recorded pace, or its records as NDJSON with --headless'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand help; and not __fish_seen_subcommand_from demo completions man config replay check help" -f -a "check" -d 'One-shot health check for monitors, cron and probes: connect, subscribe, publish probes through the HTTP API and time their delivery; Nagios output and exit codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand help; and not __fish_seen_subcommand_from demo completions man config replay check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "init" -d 'Write a commented starter config file where chanwatch looks for it (or at --config PATH), with its keys in [profiles.NAME] when --profile NAME is given (1 to 64 ASCII letters, digits, \'-\', \'_\' or \'.\'); never overwrites a file. Prints the path'
complete -c chanwatch -n "__fish_chanwatch_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "path" -d 'Print the path of the config file chanwatch reads (--config, CHANWATCH_CONFIG, or the platform\'s config directory), whether or not it exists'
