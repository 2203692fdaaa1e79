package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.net.URI;
import java.time.Duration;

import org.springframework.context.ApplicationContext;
import org.springframework.web.reactive.function.client.WebClient;
import org.springframework.web.reactive.function.client.support.WebClientAdapter;
import org.springframework.web.service.annotation.GetExchange;
import org.springframework.web.service.annotation.PostExchange;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.service.invoker.HttpServiceProxyFactory;

/**
 * The three ways a service calls another with {@code WebClient}, each built as a user builds it: a
 * {@code WebClient} bean built by hand, one built from Boot's injected {@code WebClient.Builder}, and an
 * HTTP interface over a WebClient. Calls block in the test thread only, with a cap far above any deadline.
 */
enum WebClientKind {

	BEAN {
		@Override
		Client create(ApplicationContext context) {
			return new Client(context.getBean("handBuiltWebClient", WebClient.class));
		}
	},

	BUILDER {
		@Override
		Client create(ApplicationContext context) {
			return new Client(context.getBean(WebClient.Builder.class).build());
		}
	},

	HTTP_INTERFACE {
		@Override
		Client create(ApplicationContext context) {
			WebClient client = context.getBean(WebClient.Builder.class).build();
			Api api = HttpServiceProxyFactory.builderFor(WebClientAdapter.create(client)).build().createClient(Api.class);
			return new Client(client) {
				@Override
				String get(String url) {
					return api.get(URI.create(url));
				}

				@Override
				String post(String url, String body) {
					return api.post(URI.create(url), body);
				}
			};
		}
	};

	/** Far above every deadline in the tests: a call that reaches it was not protected. */
	static final Duration CAP = Duration.ofSeconds(20);

	abstract Client create(ApplicationContext context);

	interface Api {

		@GetExchange
		String get(URI url);

		@PostExchange
		String post(URI url, @RequestBody String body);

	}

	static class Client {

		private final WebClient client;

		Client(WebClient client) {
			this.client = client;
		}

		String get(String url) {
			return this.client.get().uri(url).retrieve().bodyToMono(String.class).block(CAP);
		}

		String post(String url, String body) {
			return this.client.post().uri(url).bodyValue(body).retrieve().bodyToMono(String.class).block(CAP);
		}

	}

}
