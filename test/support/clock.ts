import type { Clock } from "../../src/services/clock.js";

/** A clock that moves only when a test says so. */
export class FakeClock implements Clock {
  private current: number;

  constructor(start: Date | string = "2026-03-02T09:00:00Z") {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  advanceMinutes(minutes: number): void {
    this.current += minutes * 60_000;
  }

  advanceSeconds(seconds: number): void {
    this.current += seconds * 1000;
  }

  set(date: Date | string): void {
    this.current = new Date(date).getTime();
  }
}
