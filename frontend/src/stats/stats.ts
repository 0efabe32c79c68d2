import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { addDays, dayInZone, daysBetween } from "../lib/dates";

export type TaskStats = components["schemas"]["TaskStatsOut"];
export type DayCount = components["schemas"]["DayCountOut"];
export type ProjectTime = components["schemas"]["ProjectTimeOut"];

export const RANGES = [7, 30, 90] as const;
export type Range = (typeof RANGES)[number];

/** The last `days` days up to today in the user's zone, both ends inclusive. */
export function statsWindow(days: Range, now: Date, timeZone: string) {
  const end = dayInZone(now, timeZone);
  return { start: addDays(end, -(days - 1)), end };
}

/** One entry per day from start to end, 0 where the API sent none. */
export function fillDays(completed: DayCount[], start: string, end: string): DayCount[] {
  const counts = new Map(completed.map((entry) => [entry.day, entry.count]));
  const out: DayCount[] = [];
  for (let i = 0; i <= daysBetween(start, end); i++) {
    const day = addDays(start, i);
    out.push({ day, count: counts.get(day) ?? 0 });
  }
  return out;
}

/** "45 s", "12 min", "3 h 5 min" */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest ? `${hours} h ${rest} min` : `${hours} h`;
}

/** "Mon 24 Nov" for a YYYY-MM-DD day (no zone: it already is the user's day). */
export function formatDay(day: string): string {
  return new Date(`${day}T12:00:00Z`).toLocaleDateString("en-GB", {
    timeZone: "UTC",
    weekday: "short",
    day: "numeric",
    month: "short",
  });
}

/** The unit for time bars whose longest is `maxSeconds`: hours, minutes, or seconds. */
export function durationUnit(maxSeconds: number): { per: number; suffix: string } {
  if (maxSeconds >= 2 * 3600) return { per: 3600, suffix: " h" };
  if (maxSeconds >= 2 * 60) return { per: 60, suffix: " min" };
  return { per: 1, suffix: " s" };
}

export function projectName(entry: ProjectTime): string {
  return entry.project_id === null ? "No project" : (entry.name ?? "Unnamed project");
}

/** One sentence that says what the completed-per-day chart shows. */
export function completedSummary(days: DayCount[]): string {
  const total = days.reduce((sum, day) => sum + day.count, 0);
  if (total === 0) return `No tasks completed in the last ${days.length} days.`;
  const best = days.reduce((a, b) => (b.count > a.count ? b : a));
  const noun = total === 1 ? "task" : "tasks";
  return `${total} ${noun} completed in the last ${days.length} days, most on ${formatDay(best.day)} (${best.count}).`;
}

export function trackedSummary(tracked: ProjectTime[]): string {
  const total = tracked.reduce((sum, entry) => sum + entry.seconds, 0);
  const top = tracked[0];
  if (total === 0 || !top) return "No time tracked in this period.";
  return `${formatDuration(total)} tracked in ${tracked.length} ${tracked.length === 1 ? "project" : "projects"}, most in ${projectName(top)} (${formatDuration(top.seconds)}).`;
}

export function useTaskStats(period: { start: string; end: string }, workspaceId?: string) {
  return useQuery({
    queryKey: ["stats", "tasks", period.start, period.end, workspaceId ?? "all"],
    queryFn: () =>
      unwrap<TaskStats>(
        api.GET("/api/v1/stats/tasks", {
          params: { query: { ...period, workspace_id: workspaceId } },
        }),
      ),
    placeholderData: keepPreviousData,
    staleTime: 60_000,
  });
}
