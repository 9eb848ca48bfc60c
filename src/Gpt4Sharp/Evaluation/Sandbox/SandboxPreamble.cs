namespace Gpt4Sharp.Evaluation.Sandbox;

/// <summary>
/// The Python entry point every sandboxed run starts with. It applies the resource limits
/// from inside the child (so they bind the program and all it spawns, and so bubblewrap
/// itself is not limited), drops root to the run's own uid (the kernel ignores RLIMIT_NPROC
/// for root, so a fork bomb is only stopped under another uid), arms the timer, runs the
/// program and writes the verdict string in the public human-eval harness's wording.
/// Kept in Python because the limits must be set in the child after fork, which .NET's
/// Process API cannot do.
/// </summary>
static class SandboxPreamble
{
    public const string FileName = "sandbox_entry.py";

    // Argument order is fixed by PythonSandbox.BuildArguments.
    public const string Source = """
        import io, os, resource, signal, sys

        (program, verdict_path, timeout, memory, cpu, fsize, nofile, nproc, uid,
         new_session, compat) = sys.argv[1:12]

        if new_session == "1":
            os.setsid()  # own process group, so the harness can kill everything the program starts
        for limit, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_CPU, cpu),
                             (resource.RLIMIT_FSIZE, fsize), (resource.RLIMIT_NOFILE, nofile),
                             (resource.RLIMIT_NPROC, nproc), (resource.RLIMIT_CORE, "0")):
            resource.setrlimit(limit, (int(value), int(value)))
        if int(uid) >= 0:
            os.setgroups([])
            os.setgid(int(uid))
            os.setuid(int(uid))
        if new_session == "1":
            # No bubblewrap to do it: die with the harness (PR_SET_PDEATHSIG = 1, SIGKILL). Set
            # after the uid change, which clears it.
            import ctypes
            ctypes.CDLL(None).prctl(1, 9)

        # Held locally: the program may replace builtins or os functions.
        _open, _exit, _setitimer = io.open, os._exit, signal.setitimer
        with _open(program, encoding="utf-8") as f:
            source = f.read()


        class _TimedOut(BaseException):
            pass


        def _alarm(signum, frame):
            raise _TimedOut()


        class _Sink(io.StringIO):
            # Writes vanish and reads fail, as in the public harness's swallowed IO.
            def read(self, *args, **kwargs):
                raise OSError

            def readline(self, *args, **kwargs):
                raise OSError

            def readlines(self, *args, **kwargs):
                raise OSError

            def readable(self, *args, **kwargs):
                return False


        def _human_eval_guard():
            # Same in-process restrictions as the public harness's reliability guard, so a
            # completion that calls, say, subprocess fails here exactly as it fails there.
            # This is for equal verdicts only; the isolation is the sandbox around us.
            import builtins, faulthandler, shutil, subprocess
            faulthandler.disable()
            builtins.exit = None
            builtins.quit = None
            builtins.help = None
            os.environ["OMP_NUM_THREADS"] = "1"
            for name in ("kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir",
                         "setuid", "fork", "forkpty", "killpg", "rename", "renames", "truncate",
                         "replace", "unlink", "fchmod", "fchown", "chmod", "chown", "chroot",
                         "lchflags", "lchmod", "lchown", "getcwd", "chdir"):
                setattr(os, name, None)
            shutil.rmtree = shutil.move = shutil.chown = None
            subprocess.Popen = None
            for name in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
                sys.modules[name] = None
            sys.stdout = sys.stderr = sys.stdin = _Sink()


        signal.signal(signal.SIGALRM, _alarm)
        try:
            if compat == "1":
                _human_eval_guard()
            _setitimer(signal.ITIMER_REAL, float(timeout))
            exec(compile(source, "<string>", "exec"), {} if compat == "1" else {"__name__": "__main__"})
            outcome = "passed"
        except _TimedOut:
            outcome = "timed out"
        except BaseException as e:
            try:
                outcome = f"failed: {e}"
            except BaseException:
                outcome = "failed: <unprintable error>"
        _setitimer(signal.ITIMER_REAL, 0)
        with _open(verdict_path, "w", encoding="utf-8", errors="replace") as f:
            f.write(outcome)
        try:
            sys.__stdout__.flush()
            sys.__stderr__.flush()
        except BaseException:
            pass
        _exit(0)
        """;
}
