# bash completion for acmed(8); installed as bash-completion's
# completions/acmed, or sourced from ~/.bashrc.
#
# Completes the commands, each command's options, the account subcommands,
# the values of the options that take one of a fixed set (key types, EAB
# MACs, revocation reasons, CA short names), files and folders where the help
# names one, and for "acmed renew" (with or without --now or --dry-run), "acmed deploy",
# "acmed delete" and "acmed revoke" the certificates of the configuration: its [cert NAME] sections,
# read from -c FILE when the line has one, else from the default that "acmed
# CMD --help" prints (else /etc/acmed/acmed.conf).
#
# Nothing about acmed's command line is copied here: the commands, options,
# placeholders and value sets are parsed, when first needed in a shell, from
# the help of the acmed being completed, so that this file cannot fall
# behind the binary. What it keeps is how to complete a placeholder
# (_acmed_value). The CA short names come from acmed's own error message for
# an unknown CA, asked with --help on the line so that acmed never goes
# further than parsing its options.
#
# Works with or without the bash-completion package; its _filedir is used for
# files when it is loaded. There is no challenge type to complete: acmed
# takes none on the command line (the challenge follows from --webroot,
# --standalone, --tls-alpn, --http-hook or --dns-hook).

# The help of each acmed binary and command, by "BINARY<US>COMMAND".
declare -gA _acmed_help_cache=()

# _acmed_help BINARY [COMMAND]: sets _acmed_text to the output of "BINARY
# COMMAND --help" (the command list without COMMAND), from the cache after
# the first call. What a call in a $(...) or <(...) fetches is lost with that
# subshell: _acmed makes the first call itself.
#
# The helpers below read whole outputs, never stopping early: a reader that
# leaves a pipe unread gets its writer an EPIPE error message where SIGPIPE
# is ignored.
_acmed_help()
{
	local key=$1$'\x1f'${2-}

	if [[ -z ${_acmed_help_cache[$key]+set} ]]; then
		_acmed_help_cache[$key]=$(LC_ALL=C "$1" ${2:+"$2"} --help 2>/dev/null </dev/null)
	fi
	_acmed_text=${_acmed_help_cache[$key]}
}

# _acmed_commands BINARY: the commands, from the "commands:" list of
# "acmed --help".
_acmed_commands()
{
	local line on=0 re='^  ([a-z][a-z0-9-]*) ' _acmed_text

	_acmed_help "$1"
	while IFS= read -r line; do
		if [[ $line == commands: ]]; then
			on=1
		elif ((on)) && [[ $line =~ $re ]]; then
			printf '%s\n' "${BASH_REMATCH[1]}"
		elif ((on)) && [[ -z $line ]]; then
			on=0
		fi
	done <<<"$_acmed_text"
}

# _acmed_global_options BINARY ALONE: the options of the usage lines of
# "acmed --help" that may come before the command ("acmed [-c FILE] [-v|-q]
# COMMAND"), and with ALONE=1 those that only stand alone too ("acmed
# --help | --version").
_acmed_global_options()
{
	local line n=0 opt _acmed_text
	local -a words

	_acmed_help "$1"
	while IFS= read -r line; do
		if [[ $line != usage:* && ($n == 0 || $line != ' '*acmed*) ]]; then
			n=-1
		fi
		if ((n < 0 || (n > 0 && !$2))); then
			continue
		fi
		n=$((n + 1))
		read -r -a words <<<"${line//[][|]/ }"
		for opt in "${words[@]}"; do
			if [[ $opt == -* ]]; then
				printf '%s\n' "$opt"
			fi
		done
	done <<<"$_acmed_text"
}

# _acmed_options BINARY COMMAND: one line per option of "acmed COMMAND
# --help" (short and long forms on lines of their own): the option, its
# placeholder (empty for a flag) and its help text, separated by the ASCII
# unit separator (a tab would let read merge an empty field).
_acmed_options()
{
	local line rest short name arg help _acmed_text
	local re_opt='^ +(-([a-zA-Z]), )?--([a-z][a-z0-9-]*)(.*)$'
	# A placeholder follows the option after one space: FILE, URL|NAME,
	# [ADDR:]PORT; the help text starts after two or more.
	local re_arg='^ ([][A-Z0-9_:|.]+)( +(.*))?$'

	_acmed_help "$1" "$2"
	while IFS= read -r line; do
		[[ $line =~ $re_opt ]] || continue
		short=${BASH_REMATCH[2]}
		name=${BASH_REMATCH[3]}
		rest=${BASH_REMATCH[4]}
		arg=
		if [[ $rest =~ $re_arg ]]; then
			arg=${BASH_REMATCH[1]}
			help=${BASH_REMATCH[3]}
		else
			help=${rest#"${rest%%[! ]*}"}
		fi
		printf -- '--%s\x1f%s\x1f%s\n' "$name" "$arg" "$help"
		if [[ -n $short ]]; then
			printf -- '-%s\x1f%s\x1f%s\n' "$short" "$arg" "$help"
		fi
	done <<<"$_acmed_text"
}

# _acmed_option BINARY COMMAND OPTION: sets _acmed_arg and _acmed_arg_help
# to the placeholder and help of OPTION (both empty for a flag); returns 1
# when COMMAND has no such option.
_acmed_option()
{
	local opt arg help found=1

	_acmed_arg=
	_acmed_arg_help=
	while IFS=$'\x1f' read -r opt arg help; do
		if [[ $opt == "$3" ]]; then
			_acmed_arg=$arg
			_acmed_arg_help=$help
			found=0
		fi
	done < <(_acmed_options "$1" "$2")
	return $found
}

# _acmed_positionals BINARY COMMAND: the placeholders of the arguments in the
# usage line of "acmed COMMAND --help", one per line: "acmed renew [options]
# [CERT...]" gives "CERT...", "acmed account [options] show|register|..."
# gives "show|register|...".
_acmed_positionals()
{
	local line word _acmed_text
	local -a words

	_acmed_help "$1" "$2"
	line=${_acmed_text%%$'\n'*}
	line=${line#usage: * \[options\]}
	read -r -a words <<<"${line//[][]/ }"
	for word in "${words[@]}"; do
		printf '%s\n' "$word"
	done
}

# _acmed_list HELP: the values an option's help text lists, after its last
# ": " when it has one: "account key: ec-p256 ec-p384" gives ec-p256 ec-p384.
# Asides in parentheses, commas, "or" and the numeric codes that only repeat
# a name (revocation reasons) are left out.
_acmed_list()
{
	local text=$1 word
	local -a words

	if [[ $text == *': '* ]]; then
		text=${text##*: }
	fi
	while [[ $text == *'('*')'* ]]; do
		text=${text%%'('*}${text#*')'}
	done
	read -r -a words <<<"${text//,/ }"
	for word in "${words[@]}"; do
		if [[ $word =~ ^[A-Za-z][A-Za-z0-9_.-]*$ && $word != or ]]; then
			printf '%s\n' "$word"
		fi
	done
}

# _acmed_cas BINARY COMMAND: the CA short names, from the message of an
# unknown CA ("... or one of buypass, google, ..."). --help comes first:
# with a CA acmed knew, it would print the help and stop there.
_acmed_cas()
{
	local msg
	local -a words

	msg=$(LC_ALL=C "$1" "$2" --help --ca=- 2>&1 >/dev/null </dev/null)
	if [[ $msg == *'one of '* ]]; then
		read -r -a words <<<"${msg##*one of }"
		printf '%s\n' "${words[@]%,}"
	fi
}

# _acmed_certs FILE [KIND]: the NAMEs of the [cert NAME] sections of FILE
# (of the [ca NAME] ones with KIND ca), as acmed's configuration loader
# reads them (src/conf_load.c).
_acmed_certs()
{
	local line re='^[[:space:]]*\[[[:space:]]*'"${2:-cert}"'[[:space:]]+([A-Za-z0-9._-]+)[[:space:]]*\][[:space:]]*$'

	[[ -r $1 && -f $1 ]] || return 0
	while IFS= read -r line || [[ -n $line ]]; do
		if [[ $line =~ $re ]]; then
			printf '%s\n' "${BASH_REMATCH[1]}"
		fi
	done <"$1"
}

# _acmed_config BINARY COMMAND CONFIG: the configuration file: CONFIG (the
# -c of the line, ~ and quotes undone) when set, else the default that the
# help of -c names.
_acmed_config()
{
	local path=$3 re='\(default ([^)]+)\)'

	if [[ -z $path ]]; then
		path=/etc/acmed/acmed.conf
		if _acmed_option "$1" "$2" --config && [[ $_acmed_arg_help =~ $re ]]; then
			path=${BASH_REMATCH[1]}
		fi
	fi
	if [[ $path == \'*\' || $path == \"*\" ]]; then
		path=${path:1:${#path}-2}
	fi
	# shellcheck disable=SC2088 # a ~ the line has, not the shell's
	if [[ $path == '~/'* ]]; then
		path=$HOME/${path#'~/'}
	fi
	printf '%s\n' "$path"
}

# _acmed_files [-d]: files (folders with -d) matching $cur into COMPREPLY.
_acmed_files()
{
	if declare -F _filedir >/dev/null; then
		_filedir ${1:+"$1"}
		return
	fi
	compopt -o filenames 2>/dev/null
	if [[ ${1-} == -d ]]; then
		mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -d -- "$cur")
	else
		mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$cur")
	fi
}

# _acmed_words WORD...: those of WORD that start with $cur into COMPREPLY.
_acmed_words()
{
	local w

	for w in "$@"; do
		if [[ $w == "$cur"* ]]; then
			COMPREPLY+=("$w")
		fi
	done
}

# _acmed_value BINARY COMMAND PLACEHOLDER HELP: completes $cur as the value
# of an option, or an argument, that the help calls PLACEHOLDER. Uses
# config and args of _acmed.
_acmed_value()
{
	local -a words
	local w a seen

	case $3 in
	FILE | PEM | KEYFILE | CERTFILE)
		_acmed_files
		;;
	DIR)
		_acmed_files -d
		;;
	PROG | CMD)
		if [[ $cur == */* ]]; then
			_acmed_files
		else
			mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -c -- "$cur")
		fi
		;;
	TYPE | ALG | REASON)
		mapfile -t words < <(_acmed_list "$4")
		_acmed_words "${words[@]}"
		;;
	'URL|NAME')
		# The short names, and the [ca NAME] sections of the configuration.
		mapfile -t words < <(_acmed_cas "$1" "$2")
		mapfile -t -O "${#words[@]}" words < <(_acmed_certs "$(_acmed_config "$1" "$2" "$config")" ca)
		_acmed_words "${words[@]}"
		;;
	'NAME|CERTFILE')
		# revoke: a certificate's name, or a file.
		mapfile -t words < <(_acmed_certs "$(_acmed_config "$1" "$2" "$config")")
		_acmed_words "${words[@]}"
		_acmed_files
		;;
	NAME)
		# delete: a certificate's name (cert takes domain names: none).
		if [[ $2 == delete ]]; then
			mapfile -t words < <(_acmed_certs "$(_acmed_config "$1" "$2" "$config")")
			_acmed_words "${words[@]}"
		fi
		;;
	CERT)
		# Each certificate once.
		while IFS= read -r w; do
			seen=0
			for a in "${args[@]}"; do
				if [[ $a == "$w" ]]; then
					seen=1
				fi
			done
			if ((!seen)); then
				words+=("$w")
			fi
		done < <(_acmed_certs "$(_acmed_config "$1" "$2" "$config")")
		_acmed_words "${words[@]}"
		;;
	[a-z]*'|'*)
		# Subcommands: show|register|update|rollover|deactivate.
		IFS='|' read -r -a words <<<"$3"
		_acmed_words "${words[@]}"
		;;
	esac
}

_acmed()
{
	local cur=${COMP_WORDS[COMP_CWORD]} bin=${COMP_WORDS[0]}
	local cmd='' config='' opt='' word i prefix=''
	local -a args=() positionals=() words=()
	local _acmed_arg _acmed_arg_help _acmed_text

	COMPREPLY=()
	# shellcheck disable=SC2088 # a ~ the line has, not the shell's
	if [[ $bin == '~/'* ]]; then
		bin=$HOME/${bin#'~/'}
	fi

	# The words before the cursor: the options before the command (only
	# -c takes a value there), the command, its options and arguments.
	# "--opt=value" comes as three words, "=" being a word break; opt holds
	# an option whose value comes next.
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		if [[ -n $opt ]]; then
			if [[ $word == = ]]; then
				continue
			fi
			if [[ $opt == -c || $opt == --config ]]; then
				config=$word
			fi
			opt=
		elif [[ $word == --*=* ]]; then
			if [[ $word == --config=* ]]; then
				config=${word#*=}
			fi
		elif [[ $word == -?* ]]; then
			if [[ -z $cmd ]]; then
				if [[ $word == -c || $word == --config ]]; then
					opt=$word
				fi
			elif _acmed_option "$bin" "$cmd" "$word" && [[ -n $_acmed_arg ]]; then
				opt=$word
			fi
		elif [[ -z $cmd ]]; then
			cmd=$word
			_acmed_help "$bin" "$cmd"
		else
			args+=("$word")
		fi
	done

	# The value of an option: "--opt value", "--opt=" and "--opt=val"
	# (split at "=", or whole when COMP_WORDBREAKS has no "=").
	if [[ $cur == = && -n $opt ]]; then
		cur=
	elif [[ $cur == --*=* ]]; then
		opt=${cur%%=*}
		prefix=$opt=
		cur=${cur#*=}
	fi
	if [[ -n $opt ]]; then
		if [[ -z $cmd ]]; then
			[[ $opt == -c || $opt == --config ]] && _acmed_files
		elif _acmed_option "$bin" "$cmd" "$opt" && [[ -n $_acmed_arg ]]; then
			_acmed_value "$bin" "$cmd" "$_acmed_arg" "$_acmed_arg_help"
		fi
		if [[ -n $prefix ]]; then
			COMPREPLY=("${COMPREPLY[@]/#/$prefix}")
		fi
		return 0
	fi

	if [[ -z $cmd ]]; then
		_acmed_help "$bin"
	fi
	if [[ $cur == -* ]]; then
		if [[ -z $cmd ]]; then
			mapfile -t words < <(_acmed_global_options "$bin" $((COMP_CWORD == 1)))
		else
			mapfile -t words < <(_acmed_options "$bin" "$cmd" | cut -d $'\x1f' -f 1)
		fi
		_acmed_words "${words[@]}"
		return 0
	fi

	if [[ -z $cmd ]]; then
		mapfile -t words < <(_acmed_commands "$bin")
		_acmed_words "${words[@]}"
		return 0
	fi

	# The argument's placeholder; the last one repeats when it ends in
	# "...".
	mapfile -t positionals < <(_acmed_positionals "$bin" "$cmd")
	i=${#args[@]}
	if ((i >= ${#positionals[@]})); then
		i=$((${#positionals[@]} - 1))
		if ((i < 0)) || [[ ${positionals[i]} != *... ]]; then
			return 0
		fi
	fi
	_acmed_value "$bin" "$cmd" "${positionals[i]%...}" ""
	return 0
} && complete -F _acmed acmed
