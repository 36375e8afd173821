# bash completion for opprof(1): commands, each command's options, and
# profile files (*.json, *.json.gz) where a command reads profiles.
# Installed by `make install` into $(PREFIX)/share/bash-completion/completions/opprof.

_opprof()
{
    local cur prev cmd i
    COMPREPLY=()
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    cmd=
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            -*) ;;
            *) cmd=${COMP_WORDS[i]}; break ;;
        esac
    done
    local commands="run report annotate explain diff merge"
    local gate="--metric --threshold --function-threshold --soft --min-instructions
                --include-imports --allow-interpreter-mismatch --format --top"
    local opts=
    case $cmd in
        "") COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur")); return 0 ;;
        run) opts="-o --output -q --quiet --no-stacks --lines --instruction-events --root --compare
                   --report --sort --no-time --time-only --rate --native --subprocesses --subprocess-wait --folded --speedscope
                   --html --pprof --opcodes --no-legend -h --help $gate" ;;
        report) opts="-h --help --top --sort --width --format -o --output --metric --opcodes
                      --no-legend" ;;
        annotate) opts="-h --help --top --sort --width --explain" ;;
        diff) opts="-o --output -h --help $gate" ;;
        merge) opts="-o --output -h --help" ;;
        explain) opts="-c --names -h --help" ;;
    esac
    case $prev in
        --sort) COMPREPLY=($(compgen -W "time count" -- "$cur")); return 0 ;;
        --metric) COMPREPLY=($(compgen -W "instructions time" -- "$cur")); return 0 ;;
        --format)
            if [ "$cmd" = report ]; then
                COMPREPLY=($(compgen -W "text json json-v1 folded speedscope html pprof" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "text markdown json junit github" -- "$cur"))
            fi
            return 0 ;;
        --names) COMPREPLY=($(compgen -W "3.10 3.11 3.12 3.13 3.14" -- "$cur")); return 0 ;;
        -o|--output|--report|--folded|--speedscope|--html|--pprof|--root)
            COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
        --compare) COMPREPLY=($(compgen -f -X '!*.json?(.gz)' -- "$cur")); return 0 ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return 0
    fi
    case $cmd in
        report|annotate|diff|merge)
            COMPREPLY=($(compgen -f -X '!*.@(json|json.gz)' -- "$cur") $(compgen -d -- "$cur")) ;;
        explain)
            COMPREPLY=($(compgen -f -X '!*.py' -- "$cur") $(compgen -d -- "$cur")) ;;
        run)
            COMPREPLY=($(compgen -f -X '!*.py' -- "$cur") $(compgen -d -- "$cur")) ;;
    esac
    return 0
}
complete -F _opprof -o filenames opprof
