#!/usr/bin/env zsh
# zsh zsh-complete.zsh DIR LINE: presses TAB after LINE in an interactive zsh on a pseudo-terminal
# (zsh/zpty), with DIR (holding _memaudit) first in $fpath and compinit run, and prints every
# candidate the completion system offered, one a line. compadd is wrapped to report what it adds.
zmodload zsh/zpty || exit 69
zpty z zsh -f -i
zpty -w z "PS1='' PS2='' RPROMPT=''; fpath=(${(q)1} \$fpath); autoload -Uz compinit; compinit -u -D"
# Each candidate is printed between the bytes 0x1e and 0x1f, which the echoed command itself
# does not contain (it spells them as $'\x1e').
zpty -w z 'comptest() { compadd() { local -a out; local c; builtin compadd -O out "$@"; builtin compadd "$@"; for c in $out; do print -rn -- $'"'"'\x1e'"'"'$c$'"'"'\x1f'"'"' > /dev/tty; done; }; _main_complete; unfunction compadd; }'
zpty -w z 'zle -C comptest-widget complete-word comptest; bindkey "^T" comptest-widget'
local all chunk tries=0
# Reads until the shell printed MARK (spelled M""ARK in the command, so its echo does not match).
readto() {
  all=
  while [[ $all != *$1* ]] && (( tries++ < 400 )); do
    zpty -r -t z chunk && all+=$chunk || sleep 0.05
  done
  [[ $all == *$1* ]] || { print -u2 "zsh-complete: no $1 from the shell"; zpty -d z; exit 1; }
}
zpty -w z 'print -- READY""MARK'
readto READYMARK
# The line, the widget (^T), then kill the line (^U) and print an end marker.
zpty -w -n z "$2"$'\x14'$'\x15'
zpty -w z 'print -- END""MARK'
readto ENDMARK
zpty -d z
local -a found
found=(${(ps:\x1f:)all})
print -rl -- ${(u)${(M)found:#*$'\x1e'*}##*$'\x1e'}
