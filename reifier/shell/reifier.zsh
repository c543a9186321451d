# Runbook Reifier capture hook for zsh (printed by `reifier init zsh`).
#
#   eval "$(reifier init zsh)"      # in ~/.zshrc
#
# Appends one record per interactive command to
# ${REIFIER_HOME:-<default>}/spool/<shell-session>.spool, in the same format as
# the bash hook (documented in reifier/core/history/spool.py). preexec/precmd
# run only builtins (zsh/datetime gives the clock): no fork per command. Never
# prints, never blocks, keeps $?, does nothing in non-interactive shells, while
# $REIFIER_HOME/paused exists, or with REIFIER_PAUSED=1. A command typed with a
# leading space is never recorded, whatever histignorespace says.
# REIFIER_SNAPSHOTS=0 turns off pre-edit file snapshots.

# No top-level `return`: this text is eval'ed inside ~/.zshrc.
if [[ -o interactive ]] && zmodload zsh/datetime 2>/dev/null; then

typeset -g __reifier_default_home=${__reifier_default_home:-${XDG_DATA_HOME:-${HOME:-}/.local/share}/reifier}

# One id per shell process, not exported; re-made when $$ differs.
if [[ ${__reifier_sid_pid-} != $$ ]]; then
    typeset -ga __reifier_now=($epochtime)
    typeset -g __reifier_sid=$(( __reifier_now[1] * 1000000 + __reifier_now[2] / 1000 ))-$$-$RANDOM
    typeset -g __reifier_sid_pid=$$
    typeset -g __reifier_t0= __reifier_cmd= __reifier_h= __reifier_snap=
    typeset -g __reifier_pending=0
    # The spool is created once, 0600 in a 0700 directory (a subshell sets the
    # umask: this runs once per shell, never per command).
    () {
        local d=${REIFIER_HOME:-$__reifier_default_home}/spool
        [[ -d $d ]] || command mkdir -p -m 700 -- $d 2>/dev/null || return 0
        ( umask 077 && : >>$d/$__reifier_sid.spool ) 2>/dev/null
        return 0
    }
fi

__reifier_preexec() {
    emulate -L zsh
    # One read of $epochtime: seconds and nanoseconds of the same instant.
    local -a t=($epochtime)
    __reifier_t0=$(( t[1] * 1000000 + t[2] / 1000 ))
    __reifier_cmd=$1 __reifier_h=$HISTCMD __reifier_snap= __reifier_pending=1
    # The leading-space convention holds whatever histignorespace says.
    [[ -z $1 || $1 == ' '* ]] && __reifier_pending=0
    if (( __reifier_pending )) && [[ ${REIFIER_SNAPSHOTS-} != 0 ]]; then
        case $1 in
            (*vi*|*nano*|*emacs*|*sed*|*tee*|*'>'*) __reifier_snapshot "$1" ;;
        esac
    fi
    return 0
}

# Pre-edit snapshots: before vim/vi/nvim/nano/emacs/tee FILE, sed -i, or `> FILE`
# onto an existing file, copy the file to
# $REIFIER_HOME/snapshots/<session>/<histnum>-<basename>. ${(z)} splits the line
# like the parser does; `install` (a copy, 0600) runs only for such commands.
__reifier_snapshot() {
    emulate -L zsh
    local -a seg
    local word
    for word in ${(z)1} ';'; do
        if [[ $word == (';'|'|'|'||'|'&&'|'&'|'|&') ]]; then
            (( $#seg )) && __reifier_snap_one $seg
            seg=()
        else
            seg+=($word)
        fi
    done
    return 0
}

# Copy the file that one simple command (its words as arguments) is about to edit.
__reifier_snap_one() {
    emulate -L zsh
    local -a w=("$@")
    local i=1 n=$# target='' dir copy
    while (( i <= n )) && [[ $w[i] == (sudo|env|-*|*=*) ]]; do
        [[ $w[i] == -[ugCDhprtU] ]] && (( i++ ))  # sudo options taking a value
        (( i++ ))
    done
    (( i <= n )) || return 0
    case ${w[i]:t} in
        (vim|vi|nvim|nano|emacs|tee)
            (( i++ ))
            while (( i <= n )) && [[ $w[i] == [-+]* ]]; do (( i++ )); done
            (( i <= n )) && target=$w[i] ;;
        (sed)
            [[ " ${(j: :)w} " == *' '(-i|--in-place)* ]] && target=$w[n] ;;
    esac
    for (( i = 1; i < n; i++ )); do
        # A redirection counts only onto an existing file (not >/dev/null).
        [[ $w[i] == ('>'|'>|'|'>!') && -f ${(Q)w[i+1]} ]] && target=$w[i+1]
    done
    target=${(Q)target}
    [[ $target == '~/'* ]] && target=$HOME/${target#'~/'}
    [[ -n $target && -f $target && -r $target ]] || return 0
    dir=${REIFIER_HOME:-$__reifier_default_home}/snapshots/$__reifier_sid
    copy=$dir/$HISTCMD-${target:t}
    [[ -e $copy ]] && return 0
    # 0600 in 0700 folders whatever the file's own mode; deleted once drafted.
    [[ -d $dir ]] || command mkdir -p -m 700 -- ${dir:h} $dir 2>/dev/null || return 0
    if command install -p -m 600 -- $target $copy 2>/dev/null; then
        [[ -n $__reifier_snap ]] || __reifier_snap=$copy
    fi
    return 0
}

__reifier_precmd() {
    # $? first: everything below would overwrite it.
    local s=$?
    emulate -L zsh
    local -a t=($epochtime)
    local t1=$(( t[1] * 1000000 + t[2] / 1000 )) home=${REIFIER_HOME:-$__reifier_default_home} d
    if (( __reifier_pending )) && [[ ${REIFIER_PAUSED-} != 1 && ! -e $home/paused ]]; then
        d=$home/spool
        [[ -d $d ]] || command mkdir -p -m 700 -- $d 2>/dev/null
        { builtin printf 'RFR1\0zsh\0%s\0%s\0%s\0%s\0%s\0%s\0%s\0%s\0%s\0%s\0.\n' \
            "$__reifier_sid" "$__reifier_h" "$__reifier_t0" "$t1" "$s" "${HOST-}" \
            "${USER:-$USERNAME}" "$PWD" "$__reifier_snap" "$__reifier_cmd" } 2>/dev/null >>$d/$__reifier_sid.spool
    fi
    __reifier_pending=0 __reifier_cmd= __reifier_t0= __reifier_snap=
    return 0
}

autoload -Uz add-zsh-hook
add-zsh-hook preexec __reifier_preexec
add-zsh-hook precmd __reifier_precmd

fi
