import { useMemo, useState } from "react";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { describeError } from "../api/problems";
import { useShell } from "../shell/shellContext";
import {
  completedSummary,
  durationUnit,
  type DayCount,
  fillDays,
  formatDay,
  formatDuration,
  projectName,
  type ProjectTime,
  type Range,
  RANGES,
  statsWindow,
  trackedSummary,
  useTaskStats,
} from "./stats";

const ACCENT = "#4f46e5";
const muted = "text-zinc-600 dark:text-zinc-400";
const tick = { fill: "currentColor", fontSize: 12 };

export default function StatsPage() {
  const { workspaceId, timeZone } = useShell();
  const [range, setRange] = useState<Range>(30);
  const period = useMemo(() => statsWindow(range, new Date(), timeZone), [range, timeZone]);
  const stats = useTaskStats(period, workspaceId);
  const days = useMemo(
    () => (stats.data ? fillDays(stats.data.completed, stats.data.start, stats.data.end) : []),
    [stats.data],
  );
  return (
    <main
      aria-labelledby="stats-title"
      aria-busy={stats.isFetching}
      className="min-h-0 flex-1 overflow-y-auto px-4 pb-12 pt-4"
    >
      <div className="mx-auto flex max-w-4xl flex-col gap-6">
        <header className="flex flex-wrap items-center gap-3">
          <h1 id="stats-title" className="flex-1 text-xl font-semibold">
            Stats
          </h1>
          <div
            role="group"
            aria-label="Period"
            className="flex rounded-md border border-zinc-300 dark:border-zinc-700"
          >
            {RANGES.map((days) => (
              <button
                key={days}
                type="button"
                aria-pressed={range === days}
                onClick={() => setRange(days)}
                className={`px-3 py-1.5 first:rounded-l-md last:rounded-r-md ${
                  range === days
                    ? "bg-accent-600 font-medium text-white"
                    : "hover:bg-zinc-100 dark:hover:bg-zinc-800"
                }`}
              >
                {days} days
              </button>
            ))}
          </div>
        </header>
        {stats.isError && (
          <p role="alert" className="text-red-700 dark:text-red-400">
            {describeError(stats.error)}
          </p>
        )}
        {stats.isPending && <p className={muted}>Loading…</p>}
        {stats.data && (
          <>
            <CompletedChart days={days} />
            <TrackedChart tracked={stats.data.tracked} />
          </>
        )}
      </div>
    </main>
  );
}

function CompletedChart({ days }: { days: DayCount[] }) {
  const summary = completedSummary(days);
  return (
    <figure aria-labelledby="completed-heading" className="flex flex-col gap-2">
      <h2 id="completed-heading" className="text-lg font-semibold">
        Tasks completed per day
      </h2>
      <p className={muted}>{summary}</p>
      <div aria-hidden="true" className="h-64 w-full">
        <ResponsiveContainer width="100%" height="100%">
          <BarChart
            accessibilityLayer={false}
            data={days}
            margin={{ top: 8, right: 8, bottom: 0, left: -16 }}
          >
            <CartesianGrid vertical={false} strokeOpacity={0.2} />
            <XAxis dataKey="day" tick={tick} tickFormatter={formatDay} minTickGap={16} />
            <YAxis allowDecimals={false} tick={tick} />
            <Tooltip
              labelFormatter={(day) => formatDay(String(day))}
              formatter={(value) => [String(value), "Completed"]}
              cursor={{ fillOpacity: 0.1 }}
            />
            <Bar dataKey="count" fill={ACCENT} radius={[3, 3, 0, 0]} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
      <table className="sr-only">
        <caption>Tasks completed per day</caption>
        <thead>
          <tr>
            <th scope="col">Day</th>
            <th scope="col">Completed</th>
          </tr>
        </thead>
        <tbody>
          {days.map((day) => (
            <tr key={day.day}>
              <th scope="row">{formatDay(day.day)}</th>
              <td>{day.count}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

function TrackedChart({ tracked }: { tracked: ProjectTime[] }) {
  const unit = durationUnit(Math.max(0, ...tracked.map((entry) => entry.seconds)));
  const rows = tracked.map((entry) => ({
    key: entry.project_id ?? "none",
    name: projectName(entry),
    amount: Math.round((entry.seconds / unit.per) * 10) / 10,
    seconds: entry.seconds,
  }));
  return (
    <figure aria-labelledby="tracked-heading" className="flex flex-col gap-2">
      <h2 id="tracked-heading" className="text-lg font-semibold">
        Time tracked per project
      </h2>
      <p className={muted}>{trackedSummary(tracked)}</p>
      {rows.length > 0 && (
        <div aria-hidden="true" className="w-full" style={{ height: 40 + rows.length * 32 }}>
          <ResponsiveContainer width="100%" height="100%">
            <BarChart
              accessibilityLayer={false}
              data={rows}
              layout="vertical"
              margin={{ top: 0, right: 16, bottom: 0, left: 8 }}
            >
              <CartesianGrid horizontal={false} strokeOpacity={0.2} />
              <XAxis type="number" dataKey="amount" tick={tick} unit={unit.suffix} />
              <YAxis type="category" dataKey="name" tick={tick} width={140} />
              <Tooltip
                formatter={(_value, _name, item) => [
                  formatDuration((item.payload as { seconds: number }).seconds),
                  "Tracked",
                ]}
                cursor={{ fillOpacity: 0.1 }}
              />
              <Bar dataKey="amount" fill={ACCENT} radius={[0, 3, 3, 0]} isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </div>
      )}
      {rows.length > 0 && (
        <table className="sr-only">
          <caption>Time tracked per project</caption>
          <thead>
            <tr>
              <th scope="col">Project</th>
              <th scope="col">Time tracked</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.key}>
                <th scope="row">{row.name}</th>
                <td>{formatDuration(row.seconds)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </figure>
  );
}
