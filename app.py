"""Temporary Enrollment Pairings API: the Chalice app (routes live in chalicelib.routes)."""

from chalice import Chalice

from chalicelib import logs
from chalicelib.http import MULTIPART, canvas_errors, request_logging
from chalicelib.routes.fallback import fallback
from chalicelib.routes.pairings import pairings

logs.configure()
app = Chalice(app_name="temporary-enrollment-pairings")
# Deployed, API Gateway hands multipart bodies over intact only as binary (base64).
app.api.binary_types.append(MULTIPART)
# The first middleware registered is the outermost: the log line sees the final answer.
app.register_middleware(request_logging, "http")
app.register_middleware(canvas_errors, "http")
app.register_blueprint(pairings)
app.register_blueprint(fallback)
