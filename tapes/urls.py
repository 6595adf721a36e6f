from django.urls import path

from tapes import apis

app_name = "tapes"

urlpatterns = [
    # Before "tapes/<code>", which would otherwise take "claim" for a code.
    path("tapes/claim", apis.TapeClaimApi.as_view(), name="claim"),
    path("tapes/uploads", apis.TapeUploadStartApi.as_view(), name="upload-start"),
    path("tapes/uploads/local", apis.LocalUploadApi.as_view(), name="upload-local"),
    path("tapes", apis.TapeCollectionApi.as_view(), name="collection"),
    path("tapes/<str:code>", apis.TapeDetailApi.as_view(), name="detail"),
    path("tapes/<str:code>/retry", apis.TapeRetryApi.as_view(), name="retry"),
    path("tapes/<str:code>/restore", apis.TapeRestoreApi.as_view(), name="restore"),
    path("tapes/<str:code>/media/<str:name>", apis.TapeMediaApi.as_view(), name="media"),
]
