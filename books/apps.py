from django.apps import AppConfig


class BooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "books"

    def ready(self) -> None:
        from books import scheduler

        # runserver's serving child (or BOOKFLOW_BACKGROUND_SCHEDULER=on); gunicorn workers start it
        # from gunicorn.conf.py's post_worker_init, so a --preload master never runs one.
        if scheduler.should_start_on_ready():
            scheduler.start()
