import { Component } from "react";
import type { ErrorInfo, ReactNode } from "react";

/** A render error shows a way out instead of a blank page. */
export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error("Haven UI error", error, info.componentStack);
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <main role="alert" className="mx-auto max-w-md p-8 text-center">
        <h1 className="mb-2 text-xl font-semibold">Something went wrong</h1>
        <p className="mb-4 text-zinc-600 dark:text-zinc-400">
          Haven hit an unexpected problem showing this page. Your saved work is safe.
        </p>
        <button
          type="button"
          className="rounded-md bg-accent-600 px-4 py-2 font-medium text-white hover:bg-accent-700"
          onClick={() => window.location.reload()}
        >
          Reload Haven
        </button>
      </main>
    );
  }
}
