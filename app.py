"""Temporary Enrollment Pairings API: the Chalice app (routes live in chalicelib.routes)."""

from chalice import Chalice

from chalicelib.http import MULTIPART, canvas_errors
from chalicelib.routes.pairings import pairings

app = Chalice(app_name="temporary-enrollment-pairings")
# Deployed, API Gateway hands multipart bodies over intact only as binary (base64).
app.api.binary_types.append(MULTIPART)
app.register_middleware(canvas_errors, "http")
app.register_blueprint(pairings)
