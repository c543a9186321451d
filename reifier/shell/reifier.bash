# shellcheck shell=bash
# Runbook Reifier capture hook for bash >= 5.0 (printed by `reifier init bash`).
#
#   eval "$(reifier init bash)"     # in ~/.bashrc, after bash-preexec if you use it
#
# Appends one record per interactive command to
# ${REIFIER_HOME:-<default>}/spool/<shell-session>.spool; the format is documented
# in reifier/core/history/spool.py. The per-command path runs only builtins:
# no fork, no external command. It never prints, never blocks, keeps $? and $_,
# and does nothing in non-interactive shells, while $REIFIER_HOME/paused exists
# or with REIFIER_PAUSED=1. A line typed with a leading space is never recorded.
# REIFIER_SNAPSHOTS=0 turns off pre-edit file snapshots (and the DEBUG trap).
#
# How: PS0 (expanded after a line is read, before it runs) stamps the start time
# with an arithmetic side effect; the first PROMPT_COMMAND entry writes the
# record from `fc -ln -1`. A DEBUG trap, only when no other DEBUG trap is set,
# looks once per line for file edits to snapshot. With bash-preexec loaded, its
# preexec_functions/precmd_functions are used instead of all three.

# No top-level `return`: this text is eval'ed inside ~/.bashrc, where `return`
# would end the user's rc file.
if [[ $- == *i* && ${BASH_VERSINFO[0]:-0} -ge 5 ]]; then

__reifier_default_home=${__reifier_default_home:-${XDG_DATA_HOME:-${HOME:-}/.local/share}/reifier}

# One id per shell process; not exported, and re-made when $$ differs so that
# child shells (even under `set -a`) never share a spool file.
if [[ ${__reifier_sid_pid-} != "$$" ]]; then
    __reifier_sid=${EPOCHREALTIME//[!0-9]/}-$$-$RANDOM
    __reifier_sid_pid=$$
    __reifier_last=
    __reifier_t0=
    __reifier_chk=
    __reifier_snap=
    # The spool and the line file are created once, 0600 in a 0700 directory (a
    # subshell sets the umask: this runs once per shell, never per command).
    __reifier_d=${REIFIER_HOME:-$__reifier_default_home}/spool
    if [[ -d $__reifier_d ]] || command mkdir -p -m 700 -- "$__reifier_d" 2>/dev/null; then
        ( builtin umask 077 && : >>"$__reifier_d/$__reifier_sid.spool" \
            && : >>"$__reifier_d/.$__reifier_sid.last" ) 2>/dev/null
    fi
    unset __reifier_d
fi
# The user name once per shell: $USER, else the prompt escape \u (getpwuid, no fork).
__reifier_u='\u'
__reifier_user=${USER:-${__reifier_u@P}}

# `${PS0:0:0}` is always empty; its length expression stamps the start time and
# asks the DEBUG trap for one look at the line (no command substitution, no fork).
# shellcheck disable=SC2016  # expanded later, by bash, when PS0 is shown
__reifier_ps0='${PS0:0:$((__reifier_t0=${EPOCHREALTIME//[!0-9]/},__reifier_chk=1,0))}'

# Read the newest history entry into __reifier_line, fork-free, via a file.
# `1<>` overwrites in place, NUL-terminated: truncating and rewriting a file
# costs milliseconds on ext4 (auto_da_alloc flush).
__reifier_read_line() {
    local f=$1/.$__reifier_sid.last
    __reifier_line=''
    [[ -d $1 ]] || command mkdir -p -m 700 -- "$1" 2>/dev/null || return 0
    if { builtin fc -ln -1 && builtin printf '\0'; } 2>/dev/null 1<>"$f"; then
        IFS= builtin read -r -d '' __reifier_line <"$f" || :
    fi
    # fc prints TAB, a flag byte, the entry, LF.
    __reifier_line=${__reifier_line:2}
    __reifier_line=${__reifier_line%$'\n'}
    # Scrub a leading-space line from disk (rare, so the slow path is fine).
    if [[ $__reifier_line == ' '* ]]; then { : >|"$f"; } 2>/dev/null || :; fi
    return 0
}

__reifier_paused() {
    [[ ${REIFIER_PAUSED-} == 1 || -e ${REIFIER_HOME:-$__reifier_default_home}/paused ]]
}

# Standalone mode: the DEBUG trap's first call for a line (PS0 set
# __reifier_chk). Later calls cost one [[ ]] test. $1 is $_, given back at the end.
__reifier_debug() {
    __reifier_chk=
    if ! __reifier_paused; then
        __reifier_read_line "${REIFIER_HOME:-$__reifier_default_home}/spool"
        [[ $__reifier_line == ' '* ]] || __reifier_edits "$__reifier_line"
    fi
    : "${1-}"
}

# bash-preexec mode: $1 is the whole command line, before it runs.
__reifier_preexec() {
    __reifier_t0=${EPOCHREALTIME//[!0-9]/}
    __reifier_snap=
    if [[ ${1-} != ' '* ]] && ! __reifier_paused; then __reifier_edits "${1-}"; fi
    return 0
}

# Pre-edit snapshots: before vim/vi/nvim/nano/emacs/tee FILE, sed -i, or `> FILE`
# onto an existing file, copy the file to
# $REIFIER_HOME/snapshots/<session>/<histnum>-<basename>. Finding them is builtin
# pattern matching; `install` (a copy, 0600) runs only for such commands.
__reifier_edits() {
    local l=$1 seg
    [[ ${REIFIER_SNAPSHOTS-} != 0 ]] || return 0
    case $l in
        *vi* | *nano* | *emacs* | *sed* | *tee* | *'>'*) ;;
        *) return 0 ;;
    esac
    l=${l//'>|'/'>'}
    l=${l//'&&'/$'\n'}
    l=${l//'||'/$'\n'}
    l=${l//;/$'\n'}
    l=${l//|/$'\n'}
    while IFS= builtin read -r seg; do
        case $seg in
            *vi* | *nano* | *emacs* | *sed* | *tee* | *'>'*) __reifier_snapshot "$seg" ;;
        esac
    done <<<"$l"
    return 0
}

# Copy the file that simple command $1 is about to edit (once per file and line).
__reifier_snapshot() {
    local -a w
    # The user's IFS must not change how words split (or how ${w[*]} joins).
    local i=0 n target='' dir copy IFS=$' \t\n'
    builtin read -r -a w <<<"$1" || :
    n=${#w[@]}
    while ((i < n)) && [[ ${w[i]} == sudo || ${w[i]} == env || ${w[i]} == -* || ${w[i]} == *=* ]]; do
        [[ ${w[i]} == -[ugCDhprtU] ]] && i=$((i + 1)) # sudo options taking a value
        i=$((i + 1))
    done
    ((i < n)) || return 0
    case ${w[i]##*/} in
        vim | vi | nvim | nano | emacs | tee)
            i=$((i + 1))
            while ((i < n)) && [[ ${w[i]} == [-+]* ]]; do i=$((i + 1)); done
            ((i < n)) && target=${w[i]} ;;
        sed)
            [[ " ${w[*]} " == *' -i'* || " ${w[*]} " == *' --in-place'* ]] && target=${w[n - 1]} ;;
    esac
    for ((i = 0; i < n - 1; i++)); do
        # A redirection counts only onto an existing file (not >/dev/null).
        [[ ${w[i]} == '>' && -f ${w[i + 1]} ]] && target=${w[i + 1]}
    done
    [[ -z $target && $1 =~ [^\<\>0-9\&]\>([^[:space:]\>\&|\;]+) ]] && target=${BASH_REMATCH[1]}
    target=${target#[\"\']}
    target=${target%[\"\']}
    # shellcheck disable=SC2088  # a literal "~/" typed on the command line
    [[ $target == '~/'* ]] && target=${HOME-}/${target#'~/'}
    [[ -n $target && -f $target && -r $target ]] || return 0
    dir=${REIFIER_HOME:-$__reifier_default_home}/snapshots/$__reifier_sid
    # While a line runs, HISTCMD is its history number (the one its record gets).
    copy=$dir/${HISTCMD:-0}-${target##*/}
    [[ -e $copy ]] && return 0
    # 0600 in 0700 folders whatever the file's own mode; deleted once drafted.
    [[ -d $dir ]] || command mkdir -p -m 700 -- "${dir%/*}" "$dir" 2>/dev/null || return 0
    if command install -p -m 600 -- "$target" "$copy" 2>/dev/null; then
        [[ -n ${__reifier_snap-} ]] || __reifier_snap=$copy
    fi
    return 0
}

__reifier_precmd() {
    # $? and $_ first: everything below would overwrite them.
    local __reifier_s=$? __reifier_a=$_ __reifier_t1=${EPOCHREALTIME//[!0-9]/}
    local __reifier_h=${HISTCMD-} __reifier_d=${REIFIER_HOME:-$__reifier_default_home}/spool
    # The history number moves only when a line entered history, so an empty
    # line, an ignored duplicate or an ignorespace'd line is never recorded.
    if [[ -n ${__reifier_last-} && $__reifier_h != "$__reifier_last" ]] && ! __reifier_paused; then
        __reifier_read_line "$__reifier_d"
        if [[ -n $__reifier_line && $__reifier_line != ' '* ]]; then
            { builtin printf 'RFR1\0bash\0%s\0%s\0%s\0%s\0%s\0%s\0%s\0%s\0%s\0%s\0.\n' \
                "$__reifier_sid" "$((__reifier_h - 1))" "${__reifier_t0-}" "$__reifier_t1" \
                "$__reifier_s" "${HOSTNAME-}" "$__reifier_user" "$PWD" \
                "${__reifier_snap-}" "$__reifier_line"; } 2>/dev/null >>"$__reifier_d/$__reifier_sid.spool" || :
        fi
        __reifier_line=''
    fi
    __reifier_last=$__reifier_h
    __reifier_t0=
    __reifier_chk=
    __reifier_snap=
    if [[ $__reifier_mode == ps0 ]]; then
        # Something may have replaced PS0 since; never leave the snippet where
        # it would be printed literally (promptvars off).
        if builtin shopt -q promptvars; then
            [[ ${PS0-} == *"$__reifier_ps0"* ]] || PS0=$__reifier_ps0${PS0-}
        else
            PS0=${PS0//"$__reifier_ps0"/}
        fi
    fi
    : "$__reifier_a"
    # A non-zero status would make a `set -e` shell exit; bash restores $? for
    # the prompt itself after PROMPT_COMMAND anyway.
    if [[ $- == *e* ]]; then return 0; fi
    return "$__reifier_s"
}

if [[ -n ${bash_preexec_imported-}${__bp_imported-} ]]; then
    __reifier_mode=preexec
    [[ " ${preexec_functions[*]-} " == *' __reifier_preexec '* ]] || preexec_functions+=(__reifier_preexec)
    [[ " ${precmd_functions[*]-} " == *' __reifier_precmd '* ]] || precmd_functions+=(__reifier_precmd)
else
    __reifier_mode=ps0
    if [[ -v PROMPT_COMMAND && ${PROMPT_COMMAND@a} == *a* ]]; then
        [[ " ${PROMPT_COMMAND[*]} " == *' __reifier_precmd '* ]] ||
            PROMPT_COMMAND=(__reifier_precmd "${PROMPT_COMMAND[@]}")
    elif [[ ${PROMPT_COMMAND-} != *__reifier_precmd* ]]; then
        # shellcheck disable=SC2128,SC2178  # the string form of PROMPT_COMMAND
        PROMPT_COMMAND=__reifier_precmd${PROMPT_COMMAND:+$'\n'$PROMPT_COMMAND}
    fi
    if builtin shopt -q promptvars && [[ ${PS0-} != *"$__reifier_ps0"* ]]; then
        PS0=$__reifier_ps0${PS0-}
    fi
    # Snapshots need a DEBUG trap; an existing one is left alone (and wins).
    # While a line runs the trap costs one [[ ]] test per simple command (tight
    # shell loops feel it); REIFIER_SNAPSHOTS=0 when eval'ing goes without.
    __reifier_trap=$(builtin trap -p DEBUG)
    if [[ ${REIFIER_SNAPSHOTS-} == 0 && $__reifier_trap == *__reifier_debug* ]]; then
        trap - DEBUG
    elif [[ ${REIFIER_SNAPSHOTS-} != 0 && ( -z $__reifier_trap || $__reifier_trap == *__reifier_debug* ) ]]; then
        trap '[[ -z ${__reifier_chk-} ]] || __reifier_debug "$_"' DEBUG
    fi
    unset __reifier_trap
fi

fi
