"""The HTTP and websocket surface, one router per area; :func:`cherga.displays.app.create_app` composes them.

==================  =====================================================================================
``deps``            shared by all: the :class:`~cherga.displays.service.Service` dependency, auth, errors
``tickets``         issue, read, cancel a ticket
``offices``         the offices and an office's live state
``desks``           a desk's commands, one literal route each (``/api/v1/desks/{desk}/call-next``, ...)
``head``            the policy, the load, the head's redirect
``reports``         the standard's report
``ratings``         the three buttons and their counts
``appointments``    slots, bookings, check-in
``slot_alerts``     "tell me when a slot frees": a freed slot held for the visitor told; reminders
``wartime``         air-raid alerts (an office, a region), the registries switch, closing the day early
``session``         signing in and out, one's own password (staff accounts: ``displays/accounts.py``)
``staff``           a head's or the network's staff management; the audit trail, read only
``push``            Web Push to a visitor's phone: the VAPID key, a ticket's subscriptions
``devices``         pairing a screen by a code the head approves; the office's devices, revoking one
``config``          the head's configuration, live: services, desks, skill groups, hours, targets; export
``boards``          the websockets: hall board, ticket page, head's alerts, live ratings
``pages``           the HTML pages, favicons, static files
``ops``             ``/healthz``, ``/metrics``, ``/docs``
``relay``           a region's processes between themselves (``--redis``)
==================  =====================================================================================
"""
