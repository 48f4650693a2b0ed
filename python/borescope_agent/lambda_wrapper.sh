#!/bin/sh
# borescope's Lambda exec wrapper (docs/lambda-relay.md, section 1), /opt/borescope/wrapper in the
# layer. The managed runtime's bootstrap runs it as `wrapper INTERPRETER BOOTSTRAP...`. While the
# function is attached (BORESCOPE_LAMBDA set) it makes borescope's shim the handler and keeps the
# original one in BORESCOPE_LAMBDA_HANDLER; then it runs the function's own wrapper, if it had
# one (BORESCOPE_LAMBDA_CHAIN), or the runtime itself. Shell builtins only: the runtime images
# have no coreutils to count on.
if [ -n "${BORESCOPE_LAMBDA:-}" ] && [ "${_HANDLER:-}" != "borescope_agent.lambda_shim.handler" ]; then
  export BORESCOPE_LAMBDA_HANDLER="${_HANDLER:-}"
  export _HANDLER=borescope_agent.lambda_shim.handler
fi
if [ -n "${BORESCOPE_LAMBDA_CHAIN:-}" ]; then
  exec "$BORESCOPE_LAMBDA_CHAIN" "$@"
fi
exec "$@"
