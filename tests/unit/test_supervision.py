"""The launcher's restart policy (back-off doubling to a cap, forgiven after a healthy
stretch) and the status table `daprshop status` prints."""

from daprshop.supervision import Backoff, Liveness, Probes, Restarts, describe_exit, status_table

POLICY = Backoff(first_s=1.0, cap_s=30.0, reset_after_s=60.0)


def test_back_off_doubles_from_one_second_to_a_cap() -> None:
    assert [POLICY.delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_crash_loop_backs_off_and_a_healthy_stretch_forgives_it() -> None:
    """Crashes in a row wait longer each time; once a process has been healthy for
    `reset_after_s`, its next crash waits the first delay again, the total still counts."""
    r = Restarts(POLICY)
    now = 0.0
    delays = []
    for _ in range(4):  # dies again shortly after each restart
        delays.append(r.exited(now))
        now += delays[-1] + 1
        r.healthy(now)
        now += 5
    assert delays == [1, 2, 4, 8]
    r.total = 4
    now += 60  # healthy for over a minute
    assert r.exited(now) == 1
    assert (r.in_a_row, r.total) == (1, 4)


def test_a_short_healthy_stretch_does_not_reset_the_back_off() -> None:
    r = Restarts(POLICY)
    assert r.exited(0) == 1
    r.healthy(2)
    assert r.exited(61) == 2  # healthy 59 s: not long enough


def test_exits_are_described_like_a_shell_would() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(1) == "exit code 1"


def test_status_shows_state_pid_restarts_and_last_exit() -> None:
    status = {
        "launcher": 1,
        "processes": {
            "redis": {"state": "running", "pid": 10, "restarts": 0, "since": 0.0},
            "orders": {
                "state": "backing off",
                "pid": None,
                "restarts": 2,
                "since": 95.0,
                "last_exit": "exit code 1",
                "exited_at": 95.0,
                "restart_at": 104.0,
            },
        },
    }
    lines = status_table(status, now=100.0).splitlines()
    assert lines[0].split() == ["process", "state", "pid", "restarts", "up", "last", "exit"]
    assert lines[1].split() == ["redis", "running", "10", "0", "1m40s", "-"]
    assert lines[2].split() == [
        "orders",
        "backing",
        "off",
        "(4.0s)",
        "-",
        "2",
        "-",
        "exit",
        "code",
        "1,",
        "5s",
        "ago",
    ]


def test_liveness_kills_after_the_set_number_of_failed_probes_in_a_row() -> None:
    """A passing probe forgives earlier failures; after a kill the count starts again."""
    probes = Probes(Liveness(every_s=5, failures=3))
    assert [probes.result(ok) for ok in (False, False, True, False, False)] == [False] * 5
    assert probes.result(False) is True
    assert [probes.result(False) for _ in range(2)] == [False, False]
