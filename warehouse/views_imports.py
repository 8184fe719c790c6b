"""The import page for staff: upload a file, see its problems or its row count, then apply it.

The same importers as `manage.py import`. The upload is streamed to a file
whose name the server chooses (in `IMPORT_UPLOAD_DIR`, a temporary folder by
default); the session keeps a random token for it between "Validate" and
"Apply", never a path that came from the browser.
"""

import secrets
import tempfile
import time
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from .imports import IMPORTERS, MAX_ERRORS, format_guess
from .web import done, once_only

SESSION_KEY = "warehouse_import"
STALE_AFTER = 24 * 3600  # uploads never applied are deleted after a day


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label="What the file holds")
    file = forms.FileField(help_text="CSV (UTF-8, comma or semicolon separated) or XLSX.")

    def __init__(self, *args, kinds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(kind, cls.label) for kind, cls in kinds]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in (".csv", ".txt", ".xlsx"):
            raise forms.ValidationError("Choose a .csv or .xlsx file.")
        return upload


def _kinds(user) -> list:
    """The importers this user may run (each names the permissions it needs)."""
    return [(kind, cls) for kind, cls in IMPORTERS.items() if user.has_perms(cls.permissions)]


def upload_dir() -> Path:
    folder = Path(
        getattr(settings, "IMPORT_UPLOAD_DIR", None)
        or Path(tempfile.gettempdir()) / "inventory-imports"
    )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _upload_save(upload) -> Path:
    """Stream an upload to a new file of the server's choosing; its path back."""
    folder = upload_dir()
    for old in folder.glob("import-*"):
        if time.time() - old.stat().st_mtime > STALE_AFTER:
            old.unlink(missing_ok=True)
    suffix = ".xlsx" if Path(upload.name).suffix.lower() == ".xlsx" else ".csv"
    handle, name = tempfile.mkstemp(prefix="import-", suffix=suffix, dir=folder)
    with open(handle, "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return Path(name)


def _pending_drop(request) -> None:
    pending = request.session.pop(SESSION_KEY, None)
    if pending:
        path = _pending_path(pending)
        if path is not None:
            path.unlink(missing_ok=True)


def _pending_path(pending: dict) -> Path | None:
    """The pending upload's file, only when it is one of ours."""
    folder = upload_dir().resolve()
    path = (folder / Path(pending.get("file", "")).name).resolve()
    if path.parent != folder or not path.name.startswith("import-") or not path.is_file():
        return None
    return path


@require_http_methods(["GET", "POST"])
def imports(request):
    """Choose a kind and a file; "Validate" checks the whole file and changes nothing."""
    kinds = _kinds(request.user)
    if not kinds:
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None, kinds=kinds)
    context = {"nav": "products", "form": form, "kinds": kinds, "result": None, "token": None}
    if request.method == "POST" and form.is_valid():
        _pending_drop(request)
        kind = form.cleaned_data["kind"]
        upload = form.cleaned_data["file"]
        path = _upload_save(upload)
        importer = IMPORTERS[kind](
            path=path,
            name=Path(upload.name).name,
            actor=request.user,
            max_errors=MAX_ERRORS,
            format=format_guess(path),
        )
        result = importer.run(dry_run=True)
        context["result"] = result
        if result.problems:
            path.unlink(missing_ok=True)
        else:
            token = secrets.token_urlsafe(16)
            request.session[SESSION_KEY] = {
                "token": token,
                "kind": kind,
                "file": path.name,
                "name": result.file,
            }
            context["token"] = token
    return render(request, "warehouse/imports.html", context)


@require_POST
@once_only
def imports_apply(request):
    """Import the file validated just before, in one transaction (it is checked again)."""
    pending = request.session.get(SESSION_KEY)
    token = request.POST.get("token", "")
    if not pending or not secrets.compare_digest(pending["token"], token):
        messages.error(request, "Nothing to apply: upload and validate the file again.")
        return redirect("warehouse:imports")
    importer_class = IMPORTERS.get(pending["kind"])
    if importer_class is None or not request.user.has_perms(importer_class.permissions):
        raise PermissionDenied
    path = _pending_path(pending)
    if path is None:
        request.session.pop(SESSION_KEY, None)
        messages.error(request, "The uploaded file is gone: upload it again.")
        return redirect("warehouse:imports")
    result = importer_class(
        path=path, name=pending["name"], actor=request.user, format=format_guess(path)
    ).run()
    _pending_drop(request)
    if result.problems:
        kinds = _kinds(request.user)
        context = {
            "nav": "products",
            "form": ImportForm(kinds=kinds, initial={"kind": pending["kind"]}),
            "kinds": kinds,
            "result": result,
            "token": None,
        }
        return render(request, "warehouse/imports.html", context)
    return done(request, reverse("warehouse:imports"), f"Imported: {result.summary()}")
