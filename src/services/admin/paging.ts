/** One page of a long list. */
export interface Page<T> {
  items: T[];
  total: number;
  /** 1-based; clamped to the last page. */
  page: number;
  pageCount: number;
  pageSize: number;
}

/** Where a page of `pageSize` rows out of `total` starts, with the asked page clamped to the list. */
export function placePage(askedPage: number, total: number, pageSize: number) {
  const pageCount = Math.max(1, Math.ceil(total / pageSize));
  const page = !Number.isSafeInteger(askedPage) || askedPage < 1 ? 1 : Math.min(askedPage, pageCount);
  return { page, pageCount, pageSize, offset: (page - 1) * pageSize };
}
