# Reports each GNU-only construct of a header that is not inside an #if
# (or #ifdef) whose condition names __GNUC__ or __clang__ (not negated), or
# FA__HAVE_TLS / FA__STORE, which the headers define only under __GNUC__
# (checked here too: their #define must itself be guarded). An #else or
# #elif branch of a guarded #if is not guarded, unless the #elif names one. Prints "file:line: text"
# per finding; the exit status is the number of findings (at most 1).
function guarded(   i) {
  for (i = 1; i <= depth; i++)
    if (g[i])
      return 1
  return 0
}
function names_gnu(cond) {
  if (cond ~ /!defined\(__GNUC__\)|!defined\(__clang__\)/)
    return 0
  return cond ~ /__GNUC__|__clang__|FA__HAVE_TLS|FA__STORE/
}
FNR == 1 { depth = 0; comment = 0 }
{
  line = $0
  # Drop comments (block comments may span lines) and string literals.
  if (comment) {
    if (sub(/.*\*\//, "", line)) comment = 0
    else next
  }
  gsub(/\/\*([^*]|\*[^\/])*\*\//, "", line)
  if (sub(/\/\*.*/, "", line)) comment = 1
  sub(/\/\/.*/, "", line)
  gsub(/"([^"\\]|\\.)*"/, "\"\"", line)
}
line ~ /^[ \t]*#[ \t]*if/ {
  depth++
  g[depth] = names_gnu(line)
  next
}
line ~ /^[ \t]*#[ \t]*elif/ { g[depth] = names_gnu(line); next }
line ~ /^[ \t]*#[ \t]*else/ { g[depth] = 0; next }
line ~ /^[ \t]*#[ \t]*endif/ { depth--; next }
line ~ /^[ \t]*#[ \t]*define[ \t]+(FA__HAVE_TLS|FA__STORE)([ \t(]|$)/ &&
    !guarded() {
  printf "%s:%d: defined outside a __GNUC__ guard: %s\n", FILENAME, FNR, $0
  bad = 1
}
line ~ /__attribute__|__typeof|(^|[^_a-zA-Z0-9])typeof[ \t]*\(|__thread|__builtin_|__atomic_|__sync_|__asm|__extension__|\([ \t]*\{|always_inline|__declspec\(thread\)/ &&
    !guarded() {
  printf "%s:%d: GNU construct outside a __GNUC__ guard: %s\n", FILENAME,
    FNR, $0
  bad = 1
}
END { exit bad }
