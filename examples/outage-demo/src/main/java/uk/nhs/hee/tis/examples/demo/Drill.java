package uk.nhs.hee.tis.examples.demo;

import java.util.ArrayList;
import java.util.List;

/**
 * The outages that took TIS down, as drills: each has a fault to inject and to remove, how long
 * the fault lasts, and the settings the tcs instances start with. A fault is removed only when
 * the thing it broke answers again, so "after" starts when a user could expect service back.
 */
enum Drill {

	D1("Profile hangs", "Profile accepts each request and never answers, until it is restarted",
			(run) -> run.fleet().profileProxy().hang(), (run) -> run.fleet().profileProxy().restart()),

	D2("Profile is killed", "the Profile process is killed (SIGKILL); nothing listens on its address",
			(run) -> run.fleet().killProfile(), (run) -> run.fleet().startProfile()),

	D3("Profile dribbles its bodies", "Profile's answers arrive a few bytes at a time over 30 s, until it is restarted",
			(run) -> run.fleet().profileProxy().dribble(), (run) -> run.fleet().profileProxy().restart()),

	D4("Keycloak is killed for longer than the key cache",
			"Keycloak is killed for twice the key cache's lifetime, then restarted",
			(run) -> run.fleet().keycloak().kill(), (run) -> run.fleet().keycloak().start()) {

		@Override
		List<String> tcsArgs(int phaseSeconds) {
			// Time made to pass honestly: both sides keep Keycloak's keys for one phase, not five minutes.
			List<String> args = new ArrayList<>(super.tcsArgs(phaseSeconds));
			args.add("--demo.jwks-cache-ttl=" + phaseSeconds + "s");
			args.add("--tis.resilience.jwt.refresh-interval=" + phaseSeconds + "s");
			return args;
		}

		@Override
		int faultSeconds(int phaseSeconds) {
			return 2 * phaseSeconds;
		}

	},

	D5("Keycloak is down and tcs is restarted", "Keycloak is killed, then both tcs instances are restarted",
			(run) -> {
				run.fleet().keycloak().kill();
				run.restartTcs();
			}, (run) -> run.fleet().keycloak().start()),

	D6("Keycloak is down while tcs calls Reference with its service token",
			"Keycloak is killed for 30 s, across the moment Spring Security would renew the 90 s service token",
			(run) -> run.fleet().keycloak().kill(), (run) -> run.fleet().keycloak().start()) {

		@Override
		int faultSeconds(int phaseSeconds) {
			// Tokens are fetched as the drill starts; Spring renews one 60 s before it expires, at 30 s. An
			// outage of 30 s covers such a moment whenever it starts, and ends (with Keycloak's restart)
			// before the starter's token, renewed at three quarters of its life, really expires.
			return 30;
		}

	},

	D7("One of Profile's two instances hangs, is cut off, then is killed",
			"tcs load-balances over two Profile instances (Spring Cloud LoadBalancer, simple discovery); the second "
					+ "hangs for a phase, is cut off at the network level (its connections go unanswered) for a phase, "
					+ "then is killed for a phase",
			(run) -> run.faultSequence(List.of(new DrillRun.Fault("hangs", (r) -> r.fleet().secondProfileProxy().hang()),
					new DrillRun.Fault("cut off", (r) -> {
						r.fleet().secondProfileProxy().stop();
						r.fleet().cutOffSecondProfile();
					}), new DrillRun.Fault("killed", (r) -> {
						r.fleet().reconnectSecondProfile();
						r.fleet().killSecondProfile();
					}))),
			(run) -> run.fleet().startSecondProfile()) {

		@Override
		List<String> tcsArgs(int phaseSeconds) {
			List<String> args = new ArrayList<>(super.tcsArgs(phaseSeconds));
			args.add("--demo.profile.load-balanced=true");
			args.add("--profile.url=http://profile/profile");
			return args;
		}

		@Override
		List<String> tcsArgs(int phaseSeconds, Fleet fleet) {
			List<String> args = new ArrayList<>(tcsArgs(phaseSeconds));
			List<String> instances = fleet.profileInstances();
			for (int i = 0; i < instances.size(); i++) {
				args.add("--spring.cloud.discovery.client.simple.instances.profile[" + i + "].uri=" + instances.get(i));
			}
			return args;
		}

		@Override
		int faultSeconds(int phaseSeconds) {
			return 3 * phaseSeconds;
		}

	};

	private final String title;

	private final String fault;

	private final Step inject;

	private final Step remove;

	Drill(String title, String fault, Step inject, Step remove) {
		this.title = title;
		this.fault = fault;
		this.inject = inject;
		this.remove = remove;
	}

	String title() {
		return this.title;
	}

	String fault() {
		return this.fault;
	}

	/**
	 * Settings the tcs instances start with in this drill, on top of the common ones. Profile's
	 * stale-if-error window is half a phase (a real service keeps minutes), so that a drill shows
	 * both what comes first (each user's last good userinfo) and what comes after (a clear 503).
	 */
	List<String> tcsArgs(int phaseSeconds) {
		return List.of("--tis.resilience.services.profile.stale-if-error=" + Math.max(2, phaseSeconds / 2) + "s");
	}

	/** The settings, given the fleet (its addresses): by default {@link #tcsArgs(int)}. */
	List<String> tcsArgs(int phaseSeconds, Fleet fleet) {
		return tcsArgs(phaseSeconds);
	}

	/** How long the fault lasts before it is removed. */
	int faultSeconds(int phaseSeconds) {
		return phaseSeconds;
	}

	void inject(DrillRun run) throws Exception {
		this.inject.apply(run);
	}

	void remove(DrillRun run) throws Exception {
		this.remove.apply(run);
	}

	/** Something a drill does to the fleet. */
	@FunctionalInterface
	interface Step {

		void apply(DrillRun run) throws Exception;

	}

}
