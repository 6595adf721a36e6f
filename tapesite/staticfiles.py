"""Production static files: whitenoise's compressed, hashed storage, plus ES module imports.

The pages' scripts are ES modules that import each other (``import ... from "./player.js"``);
Django rewrites those imports to the hashed names only when asked to, and without it a module
would load its imports under their unhashed names, outside the far-future cache.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True
