import { useState } from "react";
import { useNavigate } from "react-router-dom";
import { useToast } from "../shell/toasts";
import type { ListQuery } from "../tasks/views";
import { NameDialog } from "./NameDialog";
import { savedQueryOf, useCreateSavedSearch } from "./queries";

/** "Save search": keeps the list's search (and its fixed filters) under a name, in the
 * sidebar. */
export function SaveSearchButton({
  query,
  fixedDates,
  workspaceId,
  suggestedName,
}: {
  query: ListQuery;
  fixedDates: boolean;
  workspaceId?: string;
  suggestedName: string;
}) {
  const [open, setOpen] = useState(false);
  const create = useCreateSavedSearch();
  const navigate = useNavigate();
  const toast = useToast();
  return (
    <>
      <button
        type="button"
        className="rounded-md px-2 py-1.5 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800"
        onClick={() => setOpen(true)}
      >
        Save search
      </button>
      <NameDialog
        open={open}
        onOpenChange={setOpen}
        title="Save this search"
        action="Save"
        initial={suggestedName}
        onSubmit={async (name) => {
          const saved = await create.mutateAsync({
            name,
            workspace_id: workspaceId,
            query: savedQueryOf(query, fixedDates),
          });
          toast({ message: `Saved “${saved.name}”` });
          navigate(`/search/${saved.id}`);
        }}
      />
    </>
  );
}
