# bash completion for detrun(1), the detshim launcher.
# Installed as share/bash-completion/completions/detrun (make install,
# the Debian package); or source it from ~/.bashrc.
#
# The options are read from `detrun --help`, so they follow the binary.
# After `--`, or after the first word that is not an option (options end
# there, as getopt_long's "+" makes them), the command and its arguments
# complete as the command's own (bash-completion's _command_offset when it
# is loaded).

_detrun_options()
{
	"$1" --help 2>/dev/null |
		sed -n 's/^ *\(-[a-zA-Z], \)\{0,1\}\(--[a-z][a-z-]*\).*/\2/p'
}

_detrun()
{
	local cur prev i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}

	case ${COMP_WORDS[1]} in
	report)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--json --markdown --help' -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		return 0 ;;
	diff)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--json --compare-log=events --compare-log=strict --help' -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		return 0 ;;
	help)
		return 0 ;;
	esac

	# After "--" or the command's name: the command, then its own
	# completion.  An option's value is not a command name.
	for ((i = 1; i < COMP_CWORD; i++)); do
		local w=${COMP_WORDS[i]} p=${COMP_WORDS[i-1]}
		if [[ $w != -* ]]; then
			case $p in
			-[splc] | --seed | --policy | --log | --config | --seed-mode | \
			--profile | --algo-cache | --shim | --verify | --compare | --compare-log | \
			--accept-status | --wait-timeout)
				continue ;;
			esac
			if ((i + 1 == COMP_CWORD)); then
				COMPREPLY=($(compgen -f -- "$cur"))
			elif declare -F _command_offset >/dev/null; then
				_command_offset $i
			else
				COMPREPLY=($(compgen -f -- "$cur"))
			fi
			return 0
		fi
		if [[ $w == -- ]]; then
			if ((i + 1 == COMP_CWORD)); then
				COMPREPLY=($(compgen -c -- "$cur"))
			elif declare -F _command_offset >/dev/null; then
				_command_offset $((i + 1))
			else
				COMPREPLY=($(compgen -f -- "$cur"))
			fi
			return 0
		fi
	done

	case $prev in
	-p | --policy)
		COMPREPLY=($(compgen -W 'enforce warn off' -- "$cur")); return 0 ;;
	--seed-mode)
		COMPREPLY=($(compgen -W 'mix override respect' -- "$cur")); return 0 ;;
	--profile)
		COMPREPLY=($(compgen -W 'default batch-invariant' -- "$cur")); return 0 ;;
	--compare)
		COMPREPLY=($(compgen -W 'stdout stderr' -- "$cur") \
			   $(compgen -f -- "$cur")); return 0 ;;
	-c | --config | --algo-cache | --shim)
		COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
	-l | --log)
		COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
	--compare-log)
		COMPREPLY=($(compgen -W 'events strict off' -- "$cur")); return 0 ;;
	-s | --seed | --verify | --accept-status | --wait-timeout)
		return 0 ;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_detrun_options "${COMP_WORDS[0]}") --" -- "$cur"))
	elif ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W 'report diff help --' -- "$cur") \
			   $(compgen -c -- "$cur"))
	fi
	return 0
}
complete -F _detrun detrun
