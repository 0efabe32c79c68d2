import { useParams } from "react-router-dom";
import { ApiError, describeError } from "../api/problems";
import TaskListPage from "../tasks/TaskListPage";
import { SkeletonRows } from "../tasks/TaskRow";
import { useSavedSearch } from "./queries";

/** /search/:searchId — the task list of a saved search. */
export default function SavedSearchPage() {
  const { searchId = "" } = useParams();
  const search = useSavedSearch(searchId);
  if (search.data) return <TaskListPage search={search.data} />;
  return (
    <main className="flex-1 p-4" aria-labelledby="list-title">
      <h1 id="list-title" className="mb-3 text-xl font-semibold">
        Saved search
      </h1>
      {search.isError ? (
        <p role="alert" className="text-red-700 dark:text-red-400">
          {search.error instanceof ApiError && search.error.status === 404
            ? "This saved search no longer exists."
            : `Could not load this search: ${describeError(search.error)}`}
        </p>
      ) : (
        <>
          <span className="sr-only">Loading tasks…</span>
          <SkeletonRows />
        </>
      )}
    </main>
  );
}
