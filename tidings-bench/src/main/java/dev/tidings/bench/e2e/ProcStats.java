package dev.tidings.bench.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Peak RSS ({@code VmHWM} of /proc/PID/status) and CPU time (utime + stime of /proc/PID/stat) of a
 * live process. Linux only. The kernel keeps VmHWM as a high-water mark, so one read just before
 * the process is killed gives its peak; for a process that exits by itself, {@link Sampler} keeps
 * the last figures read while it was alive.
 *
 * @param peakRssKb peak resident set, KiB
 * @param cpuMillis user + system CPU, milliseconds
 */
record ProcStats(long peakRssKb, long cpuMillis) {
    static final ProcStats NONE = new ProcStats(0, 0);
    /** USER_HZ: 100 on every Linux this runs on. */
    private static final long TICKS_PER_SECOND = 100;

    /** The process's figures now, or null when it is gone. */
    static ProcStats read(long pid) {
        try {
            String status = Files.readString(Path.of("/proc/" + pid + "/status"));
            long hwm = 0;
            for (String line : status.split("\n")) {
                if (line.startsWith("VmHWM:")) {
                    hwm = Long.parseLong(line.substring(6).trim().split("\\s+")[0]);
                }
            }
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            // fields after the command name, which is in parentheses and may contain spaces
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
            if (hwm == 0) {
                return null; // a zombie: its memory figures are gone
            }
            return new ProcStats(hwm, ticks * 1000 / TICKS_PER_SECOND);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    ProcStats max(ProcStats other) {
        return other == null ? this : new ProcStats(Math.max(peakRssKb, other.peakRssKb), Math.max(cpuMillis, other.cpuMillis));
    }

    /** Reads a process's figures every 20 ms while it lives, for processes that end by themselves. */
    static final class Sampler implements AutoCloseable {
        private final long pid;
        private final Thread thread;
        private volatile ProcStats last = NONE;
        private volatile boolean running = true;

        Sampler(long pid) {
            this.pid = pid;
            this.thread = Thread.ofPlatform().daemon().name("procstats-" + pid).start(this::loop);
        }

        private void loop() {
            while (running) {
                ProcStats s = read(pid);
                if (s != null) {
                    last = last.max(s);
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        /** The newest figures, refreshed now if the process is still there. */
        ProcStats now() {
            ProcStats s = read(pid);
            if (s != null) {
                last = last.max(s);
            }
            return last;
        }

        @Override
        public void close() {
            running = false;
            thread.interrupt();
        }
    }
}
