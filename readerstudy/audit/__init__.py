"""The append-only audit trail. Call `record(actor, action, obj=None, study=None, request=None, **details)`."""


def record(actor, action, obj=None, *, study=None, request=None, **details):
    from readerstudy.audit.models import AuditEvent

    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    ip = None
    if request is not None:
        ip = request.META.get("REMOTE_ADDR") or None
    study_id = getattr(study, "pk", study)
    if study_id is None and obj is not None:
        study_id = getattr(obj, "study_id", None)
    return AuditEvent.objects.create(
        actor=actor if authenticated else None,
        actor_username=actor.get_username() if authenticated else "",
        action=action,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        study_id=study_id,
        details=details,
        ip_address=ip,
    )
