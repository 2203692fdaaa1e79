package uk.nhs.hee.tis.examples.demo;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;

/**
 * A real HTTP server (WireMock) between tcs and the real Profile service, on loopback: it passes
 * every request through while Profile is healthy, and injects the drills' faults — answers that
 * never come, bodies dribbled out over many seconds — into Profile's own responses. When Profile
 * is killed the proxy stops listening too, so that tcs sees what a dead service looks like: a
 * refused connection.
 */
final class FaultProxy {

	private final int port;

	private final String target;

	private WireMockServer server;

	FaultProxy(int port, String target) {
		this.port = port;
		this.target = target;
	}

	void start() {
		this.server = new WireMockServer(options().bindAddress("127.0.0.1")
			.port(this.port)
			.containerThreads(200)
			.asynchronousResponseEnabled(true)
			.asynchronousResponseThreads(50)
			.disableRequestJournal());
		this.server.start();
		passThrough();
	}

	void stop() {
		if (this.server != null) {
			this.server.stop();
			this.server = null;
		}
	}

	int port() {
		return this.port;
	}

	String url() {
		return "http://127.0.0.1:" + this.port;
	}

	/**
	 * Ends a hang or a dribble the way such faults usually end, with a restart: the connections
	 * held at that moment are dropped, and new ones pass through.
	 */
	void restart() {
		stop();
		start();
	}

	/** Every request goes to Profile and its answer comes back unchanged. */
	void passThrough() {
		answerWith(aResponse().proxiedFrom(this.target));
	}

	/** Profile's answers are held for a minute: the connection is open, nothing comes back. */
	void hang() {
		answerWith(aResponse().proxiedFrom(this.target).withFixedDelay(60_000));
	}

	/** Profile's answers come back a few bytes at a time, over thirty seconds. */
	void dribble() {
		answerWith(aResponse().proxiedFrom(this.target).withChunkedDribbleDelay(30, 30_000));
	}

	private void answerWith(ResponseDefinitionBuilder response) {
		this.server.resetMappings();
		this.server.stubFor(any(anyUrl()).willReturn(response));
	}

}
