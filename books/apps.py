from django.apps import AppConfig


class BooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "books"

    def ready(self) -> None:
        from account.addresses import register_address_field
        from books import scheduler

        register_address_field("books.FreeTrial")  # `manage.py email_collisions` checks trials' addresses too

        # runserver's serving child (or BOOKFLOW_BACKGROUND_SCHEDULER=on); gunicorn workers start it
        # from gunicorn.conf.py's post_worker_init, so a --preload master never runs one.
        if scheduler.should_start_on_ready():
            scheduler.start()
