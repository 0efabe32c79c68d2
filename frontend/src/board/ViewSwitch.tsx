import { NavLink } from "react-router-dom";

const tab = ({ isActive }: { isActive: boolean }) =>
  `px-3 py-1 first:rounded-l-md last:rounded-r-md ${
    isActive ? "bg-accent-600 font-medium text-white" : "hover:bg-zinc-100 dark:hover:bg-zinc-800"
  }`;

/** List / Board for one project; the current one is marked with aria-current="page". */
export function ViewSwitch({ projectId }: { projectId: string }) {
  return (
    <nav
      aria-label="Project view"
      className="flex shrink-0 rounded-md border border-zinc-300 text-sm dark:border-zinc-700"
    >
      <NavLink to={`/projects/${projectId}`} end className={tab}>
        List
      </NavLink>
      <NavLink to={`/projects/${projectId}/board`} className={tab}>
        Board
      </NavLink>
    </nav>
  );
}
