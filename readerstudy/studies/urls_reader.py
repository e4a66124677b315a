app_name = "reader"
urlpatterns = []
