"""Production static files: whitenoise's compressed, hashed storage, plus ES module imports.

The pages' scripts are ES modules that import each other (``import ... from "./player.js"``);
Django rewrites those imports to the hashed names only when asked to, and without it a module
would load its imports under their unhashed names, outside the far-future cache. The same goes
for the files a module finds beside itself with ``new URL("./pack-worker.js", import.meta.url)``
(the recorder library's workers and the element's stylesheet): a page that loaded the hashed
module would otherwise start an unhashed worker, which may be another deploy's.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage

# Only relative literals: new URL(location.href) and the like are left alone.
_MODULE_RELATIVE_URL = (
    r"""(?P<matched>new URL\(\s*["'](?P<url>\.\.?/[^"']+)["'])""",
    """new URL("%(url)s\"""",
)


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True
    patterns = (
        *CompressedManifestStaticFilesStorage.patterns,
        ("*.js", (_MODULE_RELATIVE_URL,)),
    )
