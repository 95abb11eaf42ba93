_chanwatch() {
    local i cur prev opts cmd
    COMPREPLY=()
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        cur="$2"
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
    fi
    prev="$3"
    cmd=""
    opts=""

    for i in "${COMP_WORDS[@]:0:COMP_CWORD}"
    do
        case "${cmd},${i}" in
            ",$1")
                cmd="chanwatch"
                ;;
            chanwatch,check)
                cmd="chanwatch__subcmd__check"
                ;;
            chanwatch,completions)
                cmd="chanwatch__subcmd__completions"
                ;;
            chanwatch,config)
                cmd="chanwatch__subcmd__config"
                ;;
            chanwatch,demo)
                cmd="chanwatch__subcmd__demo"
                ;;
            chanwatch,help)
                cmd="chanwatch__subcmd__help"
                ;;
            chanwatch,man)
                cmd="chanwatch__subcmd__man"
                ;;
            chanwatch,replay)
                cmd="chanwatch__subcmd__replay"
                ;;
            chanwatch__subcmd__config,help)
                cmd="chanwatch__subcmd__config__subcmd__help"
                ;;
            chanwatch__subcmd__config,init)
                cmd="chanwatch__subcmd__config__subcmd__init"
                ;;
            chanwatch__subcmd__config,path)
                cmd="chanwatch__subcmd__config__subcmd__path"
                ;;
            chanwatch__subcmd__config__subcmd__help,help)
                cmd="chanwatch__subcmd__config__subcmd__help__subcmd__help"
                ;;
            chanwatch__subcmd__config__subcmd__help,init)
                cmd="chanwatch__subcmd__config__subcmd__help__subcmd__init"
                ;;
            chanwatch__subcmd__config__subcmd__help,path)
                cmd="chanwatch__subcmd__config__subcmd__help__subcmd__path"
                ;;
            chanwatch__subcmd__help,check)
                cmd="chanwatch__subcmd__help__subcmd__check"
                ;;
            chanwatch__subcmd__help,completions)
                cmd="chanwatch__subcmd__help__subcmd__completions"
                ;;
            chanwatch__subcmd__help,config)
                cmd="chanwatch__subcmd__help__subcmd__config"
                ;;
            chanwatch__subcmd__help,demo)
                cmd="chanwatch__subcmd__help__subcmd__demo"
                ;;
            chanwatch__subcmd__help,help)
                cmd="chanwatch__subcmd__help__subcmd__help"
                ;;
            chanwatch__subcmd__help,man)
                cmd="chanwatch__subcmd__help__subcmd__man"
                ;;
            chanwatch__subcmd__help,replay)
                cmd="chanwatch__subcmd__help__subcmd__replay"
                ;;
            chanwatch__subcmd__help__subcmd__config,init)
                cmd="chanwatch__subcmd__help__subcmd__config__subcmd__init"
                ;;
            chanwatch__subcmd__help__subcmd__config,path)
                cmd="chanwatch__subcmd__help__subcmd__config__subcmd__path"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        chanwatch)
            opts="-s -v -h -V --config --profile --url --key --cluster --host --ws-port --wss-port --tls --no-tls --path --origin --ws-header --ca-file --enabled-transports --disabled-transports --activity-timeout --pong-timeout --unavailable-timeout --retry-cap --handshake-timeout --subscribe --secret --secret-file --auth-endpoint --auth-transport --auth-param --auth-header --auth-header-file --auth-command --user-id --user-info --encryption-master-key --encryption-master-key-file --auth-timeout --signin --user-auth-endpoint --user-auth-transport --user-auth-param --user-auth-header --user-auth-command --user-data --user-auth-header-file --app-id --api-host --api-port --headless --fault-proxy --print-config --log-ring --log-bytes --record --log-file --verbose --probe --no-probe --probe-channel --show-probe --occupancy-interval --stats-interval --metrics-listen --webhook-listen --webhook-path --webhook-forward --node --ghost-after --help --version demo completions man config replay check help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --profile)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --url)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cluster)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ws-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --wss-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --origin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ws-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --enabled-transports)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --disabled-transports)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --activity-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pong-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --unavailable-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --retry-cap)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --handshake-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --subscribe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -s)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --secret)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --secret-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-transport)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-param)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-header-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-info)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --encryption-master-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --encryption-master-key-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-transport)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-param)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-data)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-header-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --app-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --api-host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --api-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-ring)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-bytes)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --record)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --probe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --probe-channel)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --occupancy-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --stats-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --metrics-listen)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-listen)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-forward)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --node)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ghost-after)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__check)
            opts="-s -v -h --channel --no-presence --samples --warn-latency --crit-latency --timeout --json --config --profile --url --key --cluster --host --ws-port --wss-port --tls --no-tls --path --origin --ws-header --ca-file --enabled-transports --disabled-transports --activity-timeout --pong-timeout --unavailable-timeout --retry-cap --handshake-timeout --subscribe --secret --secret-file --auth-endpoint --auth-transport --auth-param --auth-header --auth-header-file --auth-command --user-id --user-info --encryption-master-key --encryption-master-key-file --auth-timeout --signin --user-auth-endpoint --user-auth-transport --user-auth-param --user-auth-header --user-auth-command --user-data --user-auth-header-file --app-id --api-host --api-port --headless --fault-proxy --print-config --log-ring --log-bytes --record --log-file --verbose --probe --no-probe --probe-channel --show-probe --occupancy-interval --stats-interval --metrics-listen --webhook-listen --webhook-path --webhook-forward --node --ghost-after --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --channel)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --samples)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --warn-latency)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --crit-latency)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --profile)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --url)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cluster)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ws-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --wss-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --origin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ws-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --enabled-transports)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --disabled-transports)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --activity-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pong-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --unavailable-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --retry-cap)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --handshake-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --subscribe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -s)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --secret)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --secret-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-transport)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-param)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-header-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-info)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --encryption-master-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --encryption-master-key-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-transport)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-param)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-data)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-header-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --app-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --api-host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --api-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-ring)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-bytes)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --record)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --probe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --probe-channel)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --occupancy-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --stats-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --metrics-listen)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-listen)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-forward)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --node)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ghost-after)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__completions)
            opts="-s -v -h --config --profile --url --key --cluster --host --ws-port --wss-port --tls --no-tls --path --origin --ws-header --ca-file --enabled-transports --disabled-transports --activity-timeout --pong-timeout --unavailable-timeout --retry-cap --handshake-timeout --subscribe --secret --secret-file --auth-endpoint --auth-transport --auth-param --auth-header --auth-header-file --auth-command --user-id --user-info --encryption-master-key --encryption-master-key-file --auth-timeout --signin --user-auth-endpoint --user-auth-transport --user-auth-param --user-auth-header --user-auth-command --user-data --user-auth-header-file --app-id --api-host --api-port --headless --fault-proxy --print-config --log-ring --log-bytes --record --log-file --verbose --probe --no-probe --probe-channel --show-probe --occupancy-interval --stats-interval --metrics-listen --webhook-listen --webhook-path --webhook-forward --node --ghost-after --help bash elvish fish powershell zsh"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --profile)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --url)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cluster)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ws-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --wss-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --origin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ws-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --enabled-transports)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --disabled-transports)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --activity-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pong-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --unavailable-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --retry-cap)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --handshake-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --subscribe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -s)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --secret)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --secret-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-transport)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-param)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-header-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-info)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --encryption-master-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --encryption-master-key-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-transport)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-param)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-data)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-header-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --app-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --api-host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --api-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-ring)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-bytes)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --record)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --probe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --probe-channel)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --occupancy-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --stats-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --metrics-listen)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-listen)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-forward)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --node)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ghost-after)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__config)
            opts="-s -v -h --config --profile --url --key --cluster --host --ws-port --wss-port --tls --no-tls --path --origin --ws-header --ca-file --enabled-transports --disabled-transports --activity-timeout --pong-timeout --unavailable-timeout --retry-cap --handshake-timeout --subscribe --secret --secret-file --auth-endpoint --auth-transport --auth-param --auth-header --auth-header-file --auth-command --user-id --user-info --encryption-master-key --encryption-master-key-file --auth-timeout --signin --user-auth-endpoint --user-auth-transport --user-auth-param --user-auth-header --user-auth-command --user-data --user-auth-header-file --app-id --api-host --api-port --headless --fault-proxy --print-config --log-ring --log-bytes --record --log-file --verbose --probe --no-probe --probe-channel --show-probe --occupancy-interval --stats-interval --metrics-listen --webhook-listen --webhook-path --webhook-forward --node --ghost-after --help init path help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --profile)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --url)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cluster)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ws-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --wss-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --origin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ws-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --enabled-transports)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --disabled-transports)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --activity-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pong-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --unavailable-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --retry-cap)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --handshake-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --subscribe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -s)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --secret)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --secret-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-transport)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-param)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-header-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-info)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --encryption-master-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --encryption-master-key-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-transport)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-param)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-data)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-header-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --app-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --api-host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --api-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-ring)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-bytes)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --record)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --probe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --probe-channel)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --occupancy-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --stats-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --metrics-listen)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-listen)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-forward)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --node)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ghost-after)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__config__subcmd__help)
            opts="init path help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__config__subcmd__help__subcmd__help)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__config__subcmd__help__subcmd__init)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__config__subcmd__help__subcmd__path)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__config__subcmd__init)
            opts="-s -v -h --config --profile --url --key --cluster --host --ws-port --wss-port --tls --no-tls --path --origin --ws-header --ca-file --enabled-transports --disabled-transports --activity-timeout --pong-timeout --unavailable-timeout --retry-cap --handshake-timeout --subscribe --secret --secret-file --auth-endpoint --auth-transport --auth-param --auth-header --auth-header-file --auth-command --user-id --user-info --encryption-master-key --encryption-master-key-file --auth-timeout --signin --user-auth-endpoint --user-auth-transport --user-auth-param --user-auth-header --user-auth-command --user-data --user-auth-header-file --app-id --api-host --api-port --headless --fault-proxy --print-config --log-ring --log-bytes --record --log-file --verbose --probe --no-probe --probe-channel --show-probe --occupancy-interval --stats-interval --metrics-listen --webhook-listen --webhook-path --webhook-forward --node --ghost-after --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --profile)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --url)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cluster)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ws-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --wss-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --origin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ws-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --enabled-transports)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --disabled-transports)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --activity-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pong-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --unavailable-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --retry-cap)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --handshake-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --subscribe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -s)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --secret)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --secret-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-transport)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-param)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-header-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-info)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --encryption-master-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --encryption-master-key-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-transport)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-param)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-data)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-header-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --app-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --api-host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --api-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-ring)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-bytes)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --record)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --probe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --probe-channel)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --occupancy-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --stats-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --metrics-listen)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-listen)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-forward)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --node)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ghost-after)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__config__subcmd__path)
            opts="-s -v -h --config --profile --url --key --cluster --host --ws-port --wss-port --tls --no-tls --path --origin --ws-header --ca-file --enabled-transports --disabled-transports --activity-timeout --pong-timeout --unavailable-timeout --retry-cap --handshake-timeout --subscribe --secret --secret-file --auth-endpoint --auth-transport --auth-param --auth-header --auth-header-file --auth-command --user-id --user-info --encryption-master-key --encryption-master-key-file --auth-timeout --signin --user-auth-endpoint --user-auth-transport --user-auth-param --user-auth-header --user-auth-command --user-data --user-auth-header-file --app-id --api-host --api-port --headless --fault-proxy --print-config --log-ring --log-bytes --record --log-file --verbose --probe --no-probe --probe-channel --show-probe --occupancy-interval --stats-interval --metrics-listen --webhook-listen --webhook-path --webhook-forward --node --ghost-after --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --profile)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --url)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cluster)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ws-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --wss-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --origin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ws-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --enabled-transports)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --disabled-transports)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --activity-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pong-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --unavailable-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --retry-cap)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --handshake-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --subscribe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -s)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --secret)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --secret-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-transport)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-param)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-header-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-info)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --encryption-master-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --encryption-master-key-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-transport)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-param)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-data)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-header-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --app-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --api-host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --api-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-ring)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-bytes)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --record)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --probe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --probe-channel)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --occupancy-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --stats-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --metrics-listen)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-listen)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-forward)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --node)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ghost-after)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__demo)
            opts="-s -v -h --nodes --config --profile --url --key --cluster --host --ws-port --wss-port --tls --no-tls --path --origin --ws-header --ca-file --enabled-transports --disabled-transports --activity-timeout --pong-timeout --unavailable-timeout --retry-cap --handshake-timeout --subscribe --secret --secret-file --auth-endpoint --auth-transport --auth-param --auth-header --auth-header-file --auth-command --user-id --user-info --encryption-master-key --encryption-master-key-file --auth-timeout --signin --user-auth-endpoint --user-auth-transport --user-auth-param --user-auth-header --user-auth-command --user-data --user-auth-header-file --app-id --api-host --api-port --headless --fault-proxy --print-config --log-ring --log-bytes --record --log-file --verbose --probe --no-probe --probe-channel --show-probe --occupancy-interval --stats-interval --metrics-listen --webhook-listen --webhook-path --webhook-forward --node --ghost-after --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --nodes)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --profile)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --url)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cluster)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ws-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --wss-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --origin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ws-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --enabled-transports)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --disabled-transports)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --activity-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pong-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --unavailable-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --retry-cap)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --handshake-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --subscribe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -s)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --secret)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --secret-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-transport)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-param)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-header-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-info)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --encryption-master-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --encryption-master-key-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-transport)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-param)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-data)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-header-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --app-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --api-host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --api-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-ring)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-bytes)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --record)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --probe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --probe-channel)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --occupancy-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --stats-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --metrics-listen)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-listen)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-forward)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --node)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ghost-after)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__help)
            opts="demo completions man config replay check help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__help__subcmd__check)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__help__subcmd__completions)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__help__subcmd__config)
            opts="init path"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__help__subcmd__config__subcmd__init)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__help__subcmd__config__subcmd__path)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__help__subcmd__demo)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__help__subcmd__help)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__help__subcmd__man)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__help__subcmd__replay)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__man)
            opts="-s -v -h --config --profile --url --key --cluster --host --ws-port --wss-port --tls --no-tls --path --origin --ws-header --ca-file --enabled-transports --disabled-transports --activity-timeout --pong-timeout --unavailable-timeout --retry-cap --handshake-timeout --subscribe --secret --secret-file --auth-endpoint --auth-transport --auth-param --auth-header --auth-header-file --auth-command --user-id --user-info --encryption-master-key --encryption-master-key-file --auth-timeout --signin --user-auth-endpoint --user-auth-transport --user-auth-param --user-auth-header --user-auth-command --user-data --user-auth-header-file --app-id --api-host --api-port --headless --fault-proxy --print-config --log-ring --log-bytes --record --log-file --verbose --probe --no-probe --probe-channel --show-probe --occupancy-interval --stats-interval --metrics-listen --webhook-listen --webhook-path --webhook-forward --node --ghost-after --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --profile)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --url)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cluster)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ws-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --wss-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --origin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ws-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --enabled-transports)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --disabled-transports)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --activity-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pong-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --unavailable-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --retry-cap)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --handshake-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --subscribe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -s)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --secret)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --secret-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-transport)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-param)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-header-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-info)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --encryption-master-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --encryption-master-key-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-transport)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-param)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-data)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-header-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --app-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --api-host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --api-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-ring)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-bytes)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --record)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --probe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --probe-channel)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --occupancy-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --stats-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --metrics-listen)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-listen)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-forward)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --node)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ghost-after)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        chanwatch__subcmd__replay)
            opts="-s -v -h --speed --channel --event --since --until --config --profile --url --key --cluster --host --ws-port --wss-port --tls --no-tls --path --origin --ws-header --ca-file --enabled-transports --disabled-transports --activity-timeout --pong-timeout --unavailable-timeout --retry-cap --handshake-timeout --subscribe --secret --secret-file --auth-endpoint --auth-transport --auth-param --auth-header --auth-header-file --auth-command --user-id --user-info --encryption-master-key --encryption-master-key-file --auth-timeout --signin --user-auth-endpoint --user-auth-transport --user-auth-param --user-auth-header --user-auth-command --user-data --user-auth-header-file --app-id --api-host --api-port --headless --fault-proxy --print-config --log-ring --log-bytes --record --log-file --verbose --probe --no-probe --probe-channel --show-probe --occupancy-interval --stats-interval --metrics-listen --webhook-listen --webhook-path --webhook-forward --node --ghost-after --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --speed)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --channel)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --event)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --since)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --until)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --profile)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --url)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cluster)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ws-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --wss-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --origin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ws-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --enabled-transports)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --disabled-transports)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --activity-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pong-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --unavailable-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --retry-cap)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --handshake-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --subscribe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -s)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --secret)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --secret-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-transport)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-param)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-header-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-info)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --encryption-master-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --encryption-master-key-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auth-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-transport)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-param)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-data)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user-auth-header-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --app-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --api-host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --api-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-ring)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-bytes)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --record)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --probe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --probe-channel)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --occupancy-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --stats-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --metrics-listen)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-listen)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --webhook-forward)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --node)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ghost-after)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
    esac
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _chanwatch -o nosort -o bashdefault -o default chanwatch
else
    complete -F _chanwatch -o bashdefault -o default chanwatch
fi
