"""nbgrader's settings in Tadrib's course image (/etc/jupyter/nbgrader_config.py).

Every server: the exchange on the shared volume, each course in its own folder of a trainee's
home. An instructor's server (the hub sets TADRIB_COURSE and TADRIB_DB_URL, see
deploy/k8s/values.yaml): formgrader opens that course on the shared volume and its gradebook in
PostgreSQL (the password comes as PGPASSWORD, never in a file).
"""

import os

c = get_config()  # type: ignore[name-defined]  # noqa: F821

c.Exchange.root = "/srv/nbgrader/exchange"
c.Exchange.path_includes_course = True

course = os.environ.get("TADRIB_COURSE")
if course:
    c.CourseDirectory.course_id = course
    c.CourseDirectory.root = f"/srv/nbgrader/courses/{course}"
    c.Exchange.course_id = course
db_url = os.environ.get("TADRIB_DB_URL")
if db_url:
    c.CourseDirectory.db_url = db_url
