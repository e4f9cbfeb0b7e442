"""Schemathesis hooks for fuzzing the local server (loaded through SCHEMATHESIS_HOOKS).

Random account ids only ever reach the 403 of a foreign account; half of them are turned
into ``self`` (the token's own account) so that generated requests get past authorization
and exercise parsing, validation and storage too.
"""

from __future__ import annotations

import schemathesis


@schemathesis.hook
def map_path_parameters(ctx, path_parameters):
    account = (path_parameters or {}).get("account_id")
    if isinstance(account, str) and account.isdigit() and int(account[-1]) % 2 == 0:
        path_parameters["account_id"] = "self"
    return path_parameters
