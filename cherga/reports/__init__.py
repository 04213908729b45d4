"""The report of the service-quality standard (section II.IV): ``cherga report`` (see API.md).

:mod:`.extract` reads the journal into numpy arrays in one pass, :mod:`.compute` makes the figures, :mod:`.render`
writes JSON, CSV or a printable HTML page, :mod:`.cli` is the command.

Definitions
===========

**Which tickets.** A report covers the *cohort* of tickets issued in the period: every ``TicketIssued`` whose time,
in the issuing office's time zone (``Europe/Kyiv`` unless configured), falls on a day from ``--from`` to ``--to``
inclusive. Everything that later happened to those tickets counts, whenever it happened (a ticket issued at 23:30
on the last day and served after midnight is in; one issued at 00:10 the next day is out). Events up to 7 days
after the period are read. A ticket counts once, however many services it carries. A ticket sent to another office
(``TicketRedirected``) continues there as a new ticket (channel ``redirect``): each office counts its own ticket,
so the network's ``issued`` counts such a visitor twice (``channels.redirected_in`` tells how many).

**Per office, and for the network** (the same figures over the union of the reported offices' cohorts):

``issued``
    tickets in the cohort.
``tickets``
    what became of them, by their last state: ``done`` (the last ``ServiceFinished`` — the one without a next
    service — is ``served``), ``refused`` (it is ``refused``), ``no_show`` (more ``TicketNoShow`` than
    ``TicketRestored``: marked a no-show and not brought back), ``cancelled``, ``redirected``, ``open`` (none of
    these yet: still waiting or at a desk when the journal ends). They add up to ``issued``.
``served``
    ``tickets.done``: visits whose last service was provided.
``services_provided``
    every ``ServiceFinished`` with outcome ``served`` of a cohort ticket (a ticket with two services counts twice).
``refused``
    every ``ServiceFinished`` with outcome ``refused`` (a service refused), whether or not the visit went on to a
    next service. Whether a refusal was justified is not in the journal.
``consultations``
    services provided whose service is of category ``consultation`` (the configuration's category; for a service
    no longer configured, the category it was issued under).
``no_show``
    ``tickets.no_show``.
``cancelled``
    ``TicketCancelled`` of cohort tickets: ``before_call`` (never called; the visitor left, or the ticket was
    cancelled for them), ``after_call`` (called at least once before), ``day_closed`` (reason ``day closed``:
    still waiting when the day was closed, whether called before or not).
``channels``
    tickets by how they were issued: ``walk_in`` (served without queueing), ``appointment`` (a booking's check-in),
    ``redirected_in`` (sent from another office).
``wait``
    over every cohort ticket called at least once (a walk-in counts with 0): the wait is from issue to the
    *first* ``TicketCalled``, in minutes. ``called`` (count), ``mean_min``, ``p90_min`` (90th percentile, linear
    interpolation, as numpy's default), ``max_min``, ``share_within_15`` and ``share_within_20`` (waits ``<=`` 15
    and 20 minutes, the standard's 15–20).
``deadline``
    the standard's limit (``targets.limit_min`` of the network, 20 minutes by default, the same for every
    category): ``over_limit`` (tickets called after a longer wait), ``share_over_limit`` (of those called),
    ``left_after_limit`` (never called, and cancelled or sent elsewhere after waiting longer than the limit).
``wait_by_category``
    the same wait figures and ``over_limit`` per category at issue (``vulnerable`` for a flagged ticket, otherwise
    its first service's category), in the standard's order, with ``issued``.
``wait_by_hour``
    the same per local hour of issue (0–23), hours with tickets only.
``by_service``
    per service finished for cohort tickets: ``served``, ``refused``, ``mean_service_min`` (mean of the events'
    ``service_min``: from the start, or the call when the desk did not press start, to the finish; served and
    refused alike), and ``ratings`` by the service the rating names (the ticket's last service). Sorted by
    ``served``, most first.
``rating_scale``, ``ratings``, ``ratings_monitoring``
    ``TicketRated`` of cohort tickets. ``ratings`` counts them on the office's ``rating_scale`` (the network's:
    its offices' when they agree, else ``four``): ``three`` is ``bad`` / ``good`` / ``exemplary`` (погано, добре,
    зразково), ``four`` is ``terrible`` / ``acceptable`` / ``good`` / ``excellent`` (жахливо, прийнятно, добре,
    чудово: the national monitoring's levels). A rating given on the other scale (an office that changed its
    scale) counts at its level of this one (below). ``ratings_monitoring`` counts the same ratings on the four
    levels, three levels mapped as below.
``online``
    cohort tickets that asked in person for a service that can be had online (``online_url`` in the catalogue),
    the ticket's first service or any further one: ``tickets``, ``share_of_issued`` and ``by_service`` (a ticket
    counts under each of its online services).
``appointments``
    bookings (``AppointmentBooked``) whose slot starts in the period (local date of the slot): ``booked``,
    ``checked_in`` (of which ``late``), ``cancelled``, ``no_show`` (neither, and the slot's start plus the
    policy's ``booking_grace_min`` passed before the journal's last event), ``pending`` (the rest).

**Per desk** (offices only), for the administrators' work:

``served``, ``refused``, ``mean_service_min``
    services finished at the desk for cohort tickets.
``no_show_marked``
    ``TicketNoShow`` at the desk for cohort tickets (a visitor brought back later still counts here).
``ratings``
    ratings of cohort tickets naming the desk (the ticket's last desk).
``open_min``, ``paused_min``, ``busy_min``, ``idle_min``
    time, not tickets: minutes within the period (from the first local midnight to the one after the last day,
    and no later than the journal's last event). Open and paused come from ``DeskChanged`` (a desk first seen
    closing or pausing was open before); busy runs from each ``TicketCalled`` or ``TicketRestored`` at the desk to
    the ticket's next event that frees the desk (finish, no-show, transfer, redirect, cancel); idle is open minus
    busy, never below 0.

**Per administrator** (offices only, ``administrators``), for the quality of each administrator's work:

``staff``
    the administrator's code, given when the desk was opened (``OpenDesk(staff=...)``, journalled on
    ``DeskChanged`` and on every ``ServiceFinished`` and ``TicketRated``). A code is seen in an office when it
    finished a service for a cohort ticket there, is named by a rating of one, or opened (or took over) one of the
    office's desks in the period. Rows are sorted by code; a last row with ``staff`` ``null`` (*not recorded*: a desk
    opened without a code, or a journal older than the codes) gathers the services finished without one, if any.
``served``, ``refused``
    ``ServiceFinished`` of cohort tickets with the code, served or refused: the code the desk had when the service
    *finished* (a desk that changes hands credits whoever finishes). As per desk, a ticket with two services
    counts twice; the rows add up to the office's ``services_provided`` and ``refused``.
``mean_service_min``, ``p90_service_min``
    the mean and the 90th percentile (linear interpolation, as numpy's default) of those events' ``service_min``,
    served and refused alike; ``null`` when there are none.
``ratings``, ``share_good_or_exemplary``
    ``TicketRated`` of cohort tickets naming the code: that of whoever finished the ticket's last service, whether
    the visitor rated on the desk's tablet (even after the desk changed hands), at the exit or on the ticket's
    page. The share is добре or better (``good`` + the top level, ``exemplary`` or ``excellent``) over all of
    them, ``null`` without ratings. The rows add up to the office's ``ratings``.
``desks``
    ``[{"desk", "number"}]`` in the configuration's order: where the administrator finished a service for a
    cohort ticket, and the desks their code opened or took over in the period (a ``DeskChanged`` with the code,
    timed within the period), served there or not. For *not recorded*, only the former.

In CSV (section ``administrators``) an empty ``staff`` is *not recorded*, and the desks are two cells, ``desks``
(ids) and ``desk_numbers``, each joined by ``, ``; the HTML prints «не зазначено / not recorded». A report, and so
the codes in it, takes a head's (or the planner's) token; no public screen shows a code.

Minutes are rounded to 3 decimals, shares to 4; a figure over nothing (the mean wait when no ticket was called) is
``null``. ``data_until`` is the journal's last event.
"""
