import type { Command, Option } from 'commander';

/**
 * `certgate completion bash|zsh`: a completion script made from the command tree itself, so it
 * lists every command and option there is (protocols' commands too) and never goes stale. zsh
 * runs the same function through bashcompinit.
 */
export function completionScript(program: Command, shell: 'bash' | 'zsh'): string {
  const words = new Map<string, string[]>();
  const values = new Map<string, string>();
  walk(program, 'certgate', words, values);
  const entry = (k: string, v: string) => `  [${quote(k)}]=${quote(v)}`;
  const lines = [
    '# certgate shell completion: eval "$(certgate completion bash)" (or zsh), e.g. in ~/.bashrc',
    ...(shell === 'zsh' ? ['autoload -U +X bashcompinit && bashcompinit'] : []),
    'declare -gA _certgate_words=(',
    ...[...words].map(([k, v]) => entry(k, v.join(' '))),
    ')',
    'declare -gA _certgate_values=(',
    ...[...values].map(([k, v]) => entry(k, v)),
    ')',
    '_certgate() {',
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" path=certgate w i',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    w="${COMP_WORDS[i]}"',
    '    [[ $w == -* ]] && continue',
    '    [[ -n ${_certgate_words["$path $w"]+x} ]] && path="$path $w"',
    '  done',
    '  local v="${_certgate_values["$path $prev"]}"',
    '  if [[ $v == "@file" ]]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi',
    '  if [[ $v == "@dir" ]]; then COMPREPLY=($(compgen -d -- "$cur")); return; fi',
    '  if [[ $v == "@any" ]]; then COMPREPLY=(); return; fi',
    '  if [[ -n $v ]]; then COMPREPLY=($(compgen -W "$v" -- "$cur")); return; fi',
    '  COMPREPLY=($(compgen -W "${_certgate_words[$path]}" -- "$cur"))',
    '}',
    'complete -o default -F _certgate certgate',
    '',
  ];
  return lines.join('\n');
}

function walk(cmd: Command, path: string, words: Map<string, string[]>, values: Map<string, string>): void {
  const opts = [...cmd.options, ...(cmd.parent ? globalOptions(cmd) : [])];
  const list = [...cmd.commands.map((c) => c.name()), ...opts.flatMap((o) => flags(o)), '--help'];
  words.set(path, [...new Set(list)]);
  for (const o of opts) {
    if (!o.required && !o.optional) continue; // a flag takes no value
    const v = o.argChoices?.join(' ') ?? valueKind(o);
    for (const f of flags(o)) values.set(`${path} ${f}`, v);
  }
  for (const c of cmd.commands) walk(c, `${path} ${c.name()}`, words, values);
}

/** The root's options (--data-dir) work after any subcommand too. */
function globalOptions(cmd: Command): readonly Option[] {
  let root = cmd;
  while (root.parent) root = root.parent;
  return root.options.filter((o) => o.long !== '--version');
}

function flags(o: Option): string[] {
  return [o.short, o.long].filter((f): f is string => !!f);
}

function valueKind(o: Option): string {
  if (/<(file|csr|cert|key|pkcs12|out)>/i.test(o.flags)) return '@file';
  if (/<dir>/i.test(o.flags)) return '@dir';
  return '@any';
}

function quote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
